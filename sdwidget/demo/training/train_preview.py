"""Stage 5: the preview decoder learns to imitate the VAE's decoder on what the preview is shown.

The examples (``preview_data``) are real runs' x0 estimates, the targets the VAE's own decodes.
The loss is the judged measure, the mean absolute error, with the last steps' estimates (the final
images) counted twice; since the judged error is the worst frame's, the examples the decoder gets
most wrong are drawn more often (up to 8×), re-weighted every quarter of the run. The decoder
shipped is the moving average of its weights.

    python -m sdwidget.demo.training.train_preview [--work demo-train] [--steps 16000] [--init FILE]

retrains the shipped decoder alone and writes it into the model folder: about 5 minutes of
sampling and decoding, then 10 minutes of training on two idle CPU cores (40 ms a step).
``--init`` fine-tunes a decoder file instead of starting afresh. The shipped decoder is a 16000-step
run on the first 16 chunks of ``PLAN`` (hard examples re-weighted once, halfway, up to 4×),
fine-tuned with ``--init`` for 4000 steps at ``--lr 1e-3`` on all 20: on the validation runs its
worst frame went from 11.4 to 10.5/255 (mean 3.8). Resumable: the examples are kept per chunk and
the training checkpointed under ``--work``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ...preview import DECODER_FILE, NetPreview, PreviewDecoder
from ...preview.net import load_decoder
from .loop import run_steps, warmup_cosine
from .preview_data import collect, last_steps, validation_examples
from .train_unet import Ema

STEPS = 16_000
BATCH = 48


@torch.no_grad()
def frame_errors(net: torch.nn.Module, latents: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (0–255 units) of each uint8 frame against its VAE decode."""
    out = []
    for lat, pix in zip(latents.split(256), pixels.split(256), strict=True):
        rgb = ((net(lat.float()).clamp(-1, 1) + 1) * 127.5).round()
        out.append((rgb - pix.float()).abs().mean(dim=(1, 2, 3)))
    return torch.cat(out)


class Sampling:
    """How often each example is drawn; checkpointed with the rest, so a resumed run draws alike."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight

    def state_dict(self) -> dict:
        return {"weight": self.weight}

    def load_state_dict(self, state: dict) -> None:
        self.weight = state["weight"]


def train_preview(
    pipe, work: Path, seed: int, steps: int, log, init: torch.nn.Module | None = None, lr: float = 3e-3
) -> tuple[torch.nn.Module, torch.Tensor]:
    """The trained decoder (the moving average of its weights) and its error on each frame of the
    validation runs; ``init``: a decoder to fine-tune rather than a fresh one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batched sampling of a small model is fastest, and steadiest, on one
    try:
        latents, pixels = collect(pipe, work, seed, log)
        held = validation_examples(pipe)
    finally:
        torch.set_num_threads(threads)
    base = torch.ones(len(latents))
    base[last_steps(len(latents))] = 2.0  # the final images, judged most strictly
    sampling = Sampling(base)
    log(f"preview: {len(latents)} examples; training {steps} steps")
    torch.manual_seed(seed)
    net = PreviewDecoder() if init is None else init.train().requires_grad_(True)
    ema = Ema(net, decay=0.999)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    sched = warmup_cosine(opt, steps, warmup=100)
    quarter = max(1, steps // 4)

    def step(i: int) -> float:
        if i % quarter == 0 and (i or init is not None):  # a fresh net's errors say nothing yet
            errors = frame_errors(ema.model, latents, pixels)
            sampling.weight = base * (errors / errors.mean()).square().clamp(0.25, 8.0)
            log(f"preview: re-weighted at step {i}: training error mean {errors.mean():.2f}, "
                f"worst {errors.max():.2f} /255")  # fmt: skip
        g = torch.Generator().manual_seed(seed * 1_000_003 + i)
        index = torch.multinomial(sampling.weight, BATCH, replacement=True, generator=g)
        x, y = latents[index].float(), pixels[index].float() / 127.5 - 1
        if i % 2:  # the drawings have no handedness
            x, y = x.flip(-1), y.flip(-1)
        loss = (net(x) - y).abs().mean()  # the judged error is the mean absolute one
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema.update(net, i)
        if (i + 1) % 1000 == 0 or i + 1 == steps:
            errors = frame_errors(ema.model, *held)
            log(f"preview step {i + 1}: validation error mean {errors.mean():.2f}, worst {errors.max():.2f} /255")
        return loss.item()

    parts = {"net": net, "ema": ema, "opt": opt, "sched": sched, "sampling": sampling}
    run_steps(work / "preview.pt", parts, steps, step, log)
    best = ema.model.eval()
    return best, frame_errors(best, *held)


def main(argv: list[str] | None = None) -> None:
    from .. import MODEL_DIR, demo_pipeline

    parser = argparse.ArgumentParser(prog="python -m sdwidget.demo.training.train_preview", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--work", type=Path, default=Path("demo-train"), help="examples and checkpoint")
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="the pipeline folder to ship it in")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--init", type=Path, default=None, help="a decoder file to fine-tune")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for training (default: torch's)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - began:7.0f} s] {line}", flush=True)

    pipe = demo_pipeline(path=args.model)
    init = None if args.init is None else load_decoder(args.init)[0]
    net, errors = train_preview(pipe, args.work, args.seed, args.steps, log, init, args.lr)
    meta = {"steps": args.steps, "seed": args.seed, "worst": f"{errors.max():.3f}"}
    if args.init:
        meta["init"] = args.init.name
    # ``error`` is a mean, as a runner measures it over finished runs; the worst frame is kept beside.
    NetPreview(net, error=float(errors.mean())).save(args.model / DECODER_FILE, **meta)
    log(f"wrote {args.model / DECODER_FILE}: validation error mean {errors.mean():.2f}, worst {errors.max():.2f}/255")


if __name__ == "__main__":
    main()
