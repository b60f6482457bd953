"""How faithful and how cheap each preview is: frames against the VAE's decode of the same step.

    python benchmarks/preview_fidelity.py [--prompts 8] [--seeds 2] [--steps 20 60] [--decoder FILE]

On the embedded demo model (64×64, guidance 7.5, CPU), for the held-out prompts the preview
decoder never trained on (``EVAL_PROMPTS``, seeds from ``EVAL_SEED``), every step of every run is
previewed by each kind of preview and compared with ``run.decode_step(k)``, the VAE's decode of
the same step's latents, shrunk to the frame's size by area (``Preview.measure``): the mean
absolute difference per frame, in 0–255 units. Printed per kind and step count: the median and
worst frame, and the worst last frame against the final image. Then each kind's cost per step
(one ``Preview.frame`` on one thread, as a runner's thread runs the demo model), also as a share
of a bare pipeline step.

Kinds: the default of ``Runner(demo_pipeline())`` (``DecodedPreview``: the VAE's own decode on a
worker thread, judged live, with the count of frames its fallback drew when decodes lagged), the
shipped net decoder (that fallback), a linear map fitted to the demo VAE (``calibrate``, as for
any VAE without published factors), the VAE's decode on the step path, ``--decoder`` files, and
for cost only an ``AutoencoderTiny`` of TAESD's architecture built from its config (untrained: no
weights are downloaded, so its error would say nothing; its cost is TAESD's).

Last, the bytes per frame on the wire: a demo run, and a run with SD's 512×512 latent shape
(64×64×4; the demo model at 256×256) previewed to a 128-px thumbnail, each as the widget's sender
encodes frames (PNG, or WebP q90 when the PNG is over 16 KB) and, for comparison, as PNG, WebP and
JPEG at quality 85. The goal is at most 16 KB per 128-px frame.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import torch

from sdwidget import Runner, demo_pipeline
from sdwidget.demo.training.preview_data import EVAL_PROMPTS, EVAL_SEED
from sdwidget.preview import DecodedPreview, FittedPreview, NetPreview, Preview, TinyPreview, calibrate
from sdwidget.widget.sender import encode


class Recorder(Preview):
    """Previews through ``inner`` and keeps every step's latents, to preview them again later."""

    def __init__(self, inner: Preview) -> None:
        self.inner, self.max_size, self.latents = inner, inner.max_size, []

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        return self.inner.rgb(latents)

    def frame(self, latents: torch.Tensor, *, last: bool = False):
        self.latents.append(latents.detach().clone())
        return self.inner.frame(latents, last=last)


class VaePreview(DecodedPreview):
    """The pipeline's own VAE decode on the step path itself (``DecodedPreview`` moves it off)."""

    frame = Preview.frame


def one_thread(fn):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


def cost_ms(preview: Preview, latents: torch.Tensor, calls: int) -> float:
    """Median ms of one ``frame`` (every call decoded: a skipping preview is given ``last``)."""

    def timed() -> float:
        for _ in range(min(3, calls)):  # warm-up
            preview.frame(latents, last=True)
        times = []
        for _ in range(calls):
            began = time.perf_counter()
            preview.frame(latents, last=True)
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1000

    return one_thread(timed)


def bare_step_ms(pipe, steps: int = 20) -> float:
    """Ms per step of the bare pipeline (no callback, no preview), one thread."""

    def timed() -> float:
        began = time.perf_counter()
        pipe(EVAL_PROMPTS[0], num_inference_steps=steps, output_type="latent")
        return (time.perf_counter() - began) / steps * 1000

    return one_thread(timed)


def fidelity(pipe, kinds: dict[str, Preview], prompts, steps: int, seeds: int) -> dict[str, dict[str, float]]:
    recorder = Recorder(kinds["net decoder (shipped)"])
    runner = Runner(pipe, preview=recorder)
    errors: dict[str, list[float]] = {name: [] for name in kinds}
    last: dict[str, list[float]] = {name: [] for name in kinds}
    for prompt in prompts:
        for seed in range(EVAL_SEED, EVAL_SEED + seeds):
            recorder.latents.clear()
            run = runner.generate(prompt, num_inference_steps=steps, guidance_scale=7.5, seed=seed, keep_latents=True)
            assert run.status.value == "finished" and len(recorder.latents) == steps, run
            for k, latents in enumerate(recorder.latents):
                decoded = run.decode_step(k)
                for name, preview in kinds.items():
                    errors[name].append(preview.measure(latents, decoded))
            for name, preview in kinds.items():
                last[name].append(preview.measure(recorder.latents[-1], run.image))
    return {
        name: {"median": statistics.median(errors[name]), "worst": max(errors[name]), "last": max(last[name])}
        for name in kinds
    }


def live(pipe, prompts, steps: int, seeds: int) -> dict[str, float]:
    """The default preview as a run shows it: its frames (decoded off the step path, or from the
    fallback when decodes lag) against the VAE decode of the same step."""
    runner = Runner(pipe)
    errors, last, fallbacks = [], [], 0

    def error(frame, image) -> float:
        return float((torch.from_numpy(frame.numpy()).float() - torch.from_numpy(numpy_of(image))).abs().mean())

    for prompt in prompts:
        for seed in range(EVAL_SEED, EVAL_SEED + seeds):
            before = runner.preview.fallback_frames
            run = runner.generate(prompt, num_inference_steps=steps, guidance_scale=7.5, seed=seed, keep_latents=True)
            fallbacks += runner.preview.fallback_frames - before
            errors += [error(frame, run.decode_step(k)) for k, frame in enumerate(run.frames)]
            last.append(error(run.frames[-1], run.image))
    return {"median": statistics.median(errors), "worst": max(errors), "last": max(last), "fallbacks": fallbacks,
            "frames": len(errors)}  # fmt: skip


def numpy_of(image):
    import numpy as np

    return np.asarray(image.convert("RGB"), dtype=np.float32)


def encoded(frame, fmt: str) -> int:
    """Bytes of ``frame`` as the sender encodes it (``"sent"``: PNG, WebP q90 over 16 KB), as PNG,
    or in a lossy format at quality 85."""
    if fmt == "sent":
        return len(encode(frame.image()))
    out = io.BytesIO()
    frame.image().save(out, format=fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 85}))
    return len(out.getvalue())


def wire_bytes(label: str, frames) -> None:
    for fmt in ("sent", "PNG", "WEBP", "JPEG"):
        sizes = [encoded(frame, fmt) for frame in frames]
        name = f"{label}, {fmt}{'' if fmt in ('sent', 'PNG') else ' q85'}"
        print(f"  {name:56} mean {statistics.mean(sizes):7.0f}  max {max(sizes):6d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=len(EVAL_PROMPTS), help="how many held-out prompts")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per held-out prompt")
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 60])
    parser.add_argument("--calls", type=int, default=200, help="frames timed per kind")
    parser.add_argument("--wire-steps", type=int, default=20, help="steps of the runs whose frames are sized")
    parser.add_argument("--decoder", action="append", default=[], help="another preview decoder file to judge")
    args = parser.parse_args()
    from diffusers import AutoencoderTiny

    pipe = demo_pipeline()
    default = Runner(pipe).preview
    assert isinstance(default, DecodedPreview)
    shipped = default.fallback
    torch.manual_seed(0)
    kinds: dict[str, Preview] = {
        "net decoder (shipped)": shipped,
        "fitted linear map": FittedPreview(calibrate(pipe.vae)),
        "VAE decode on the step path": VaePreview(pipe.vae, shipped),
    }
    for path in args.decoder:
        kinds[f"decoder {path}"] = NetPreview.from_file(path)
    prompts = EVAL_PROMPTS[: args.prompts]
    print(f"demo model, {len(prompts)} held-out prompts × {args.seeds} seeds, guidance 7.5; "
          "frame error /255 against the VAE decode of the same step")  # fmt: skip
    print(f"{'preview':40} {'steps':>5} {'median':>7} {'worst':>7} {'worst last vs image':>20}")
    for steps in args.steps:
        for name, row in fidelity(pipe, kinds, prompts, steps, args.seeds).items():
            print(f"{name:40} {steps:5d} {row['median']:7.2f} {row['worst']:7.2f} {row['last']:20.2f}")
    print(f"shipped decoder's own Preview.error: {shipped.error}")
    for steps in args.steps:
        row = live(pipe, prompts, steps, args.seeds)
        name = "default, live: VAE decode off the step path"
        print(f"{name:40} {steps:5d} {row['median']:7.2f} {row['worst']:7.2f} {row['last']:20.2f}"
              f"   ({row['fallbacks']:.0f} of {row['frames']:.0f} frames from the fallback)")  # fmt: skip

    print("TAESD from config: untrained (no weights offline), so its error says nothing; cost only")
    kinds["TAESD from config (untrained)"] = TinyPreview(AutoencoderTiny(), share=1.0)
    kinds["default: decode off the step path (the step's share)"] = DecodedPreview(pipe.vae, shipped)
    bare = bare_step_ms(pipe)
    print(f"\ncost per step, one thread, median of {args.calls} (bare pipeline step: {bare:.2f} ms):")
    for name, preview in kinds.items():
        ms = cost_ms(preview, torch.randn(1, 4, 16, 16), args.calls)
        print(f"  {name:40} {ms:8.3f} ms   ratio preview/bare step {ms / bare:6.3f}")
    print(f"at SD's 512×512 latent shape 4×64×64, 128-px thumbnail, median of {min(3, args.calls)}:")
    for name in ("net decoder (shipped)", "TAESD from config (untrained)"):
        big = cost_ms(kinds[name], torch.randn(1, 4, 64, 64), min(3, args.calls))  # TAESD takes seconds here
        print(f"  {name:40} {big:8.3f} ms")

    print("\nbytes per frame on the wire (as the widget's sender encodes them; PNG, WebP and JPEG beside):")
    run = Runner(pipe).generate(prompts[0], num_inference_steps=args.wire_steps, guidance_scale=7.5, seed=EVAL_SEED)
    wire_bytes(f"demo run, {run.frames[0].size[0]} px, x0", run.frames)
    for show in ("x0", "latents"):
        run = Runner(pipe, show=show, thumbnail_size=128).generate(
            prompts[-1], num_inference_steps=args.wire_steps, guidance_scale=7.5, seed=EVAL_SEED, height=256, width=256
        )
        wire_bytes(f"SD 512×512 latent shape, {run.frames[0].size[0]} px, {show}", run.frames)


if __name__ == "__main__":
    main()
