"""The runner against the bare pipeline at real model shapes, random weights, a few steps each.

    python benchmarks/shapes.py [--models sd sdxl sd3 flux] [--steps 3] [--layers N]
    python benchmarks/shapes.py --device cuda           # every layer, float16, syncs counted

SD 1.5's UNet at 512², SDXL's at 1024², SD3 medium's and FLUX.1-dev's transformers at 1024²,
at their real widths (``shape_pipelines.py``). ``--layers N`` keeps at most N of each repeated
layer: the default on the CPU, where a full step takes minutes, is 1; the output says what was
cut. A step's time is ``step_ms``'s (on the CPU the median from one step's end to the next's);
the VAE's decode is replaced by a blank image of the right size (``blank_decode``: at 1024² it
takes minutes on a CPU, in every call). The runner's host overhead is the step callback's host
time (median and max), and its share of the runner's step.
On CUDA the callback runs under ``torch.cuda.set_sync_debug_mode("error")``: a host sync there
fails the run, and the table says so; "0 syncs/step" means every step passed. ``--tiny`` (the
test's) keeps the layouts at a width CI affords, 64².
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import torch
from diffusers.callbacks import PipelineCallback
from overhead import CallbackClock
from shape_pipelines import CALL, LATENT, MODELS, build

from sdwidget import LatentPreview, Runner
from sdwidget.core import hook as _hook
from sdwidget.preview import known_map


def strict(callback: Callable[..., dict]) -> Callable[..., dict]:
    """``callback`` under sync-debug mode "error": a host sync inside it raises, failing the run."""

    def checked(hook: Any, *args: Any) -> dict:
        torch.cuda.set_sync_debug_mode("error")
        try:
            return callback(hook, *args)
        finally:
            torch.cuda.set_sync_debug_mode(0)

    return checked


class Stamps(PipelineCallback):
    """Chained last (after the runner's hook, if any): when each step's callbacks ended."""

    tensor_inputs: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def callback_fn(self, pipe: Any, step_index: int, timestep: Any, callback_kwargs: dict) -> dict:
        self.ends.append(time.perf_counter())
        return callback_kwargs


def step_ms(call: Callable[[int, Stamps | None], None], steps: int, device: str) -> float:
    """Milliseconds a step, after a call of one step that warms up (allocator, kernels, the
    runner's first run). On the CPU, whose host time is its compute time: the median time from one
    step's end to the next's in a call of ``steps`` steps (a busy machine's load changing between
    two calls cannot skew it, as it did a difference of two calls). On CUDA: a call of ``steps``
    steps minus a call of one, synchronized, so encoding drops out and no step waits for the device."""
    if device != "cuda":
        call(1, None)
        call(steps, stamps := Stamps())
        return 1000 * statistics.median(b - a for a, b in zip(stamps.ends, stamps.ends[1:], strict=False))
    walls = []
    for count in (1, 1, steps):
        torch.cuda.synchronize()
        started = time.perf_counter()
        call(count, None)
        torch.cuda.synchronize()
        walls.append(time.perf_counter() - started)
    return 1000 * (walls[2] - walls[1]) / (steps - 1)


def blank_decode(vae: Any) -> None:
    """``vae.decode`` gives a blank image of the size it would decode: a step's time leaves the
    decode out anyway, and the runner's work on the image (its preview's score) stays in."""

    def decode(latents: torch.Tensor, return_dict: bool = True, **_: Any) -> Any:
        image = torch.zeros(latents.shape[0], 3, latents.shape[-2] * 8, latents.shape[-1] * 8, dtype=latents.dtype)
        return SimpleNamespace(sample=image) if return_dict else (image,)

    vae.decode = decode


def measure(model: str, args: argparse.Namespace, clock: CallbackClock) -> str:
    """One model's row: bare and runner ms/step, the callback's host time and its share, syncs."""
    dtype = torch.float16 if args.device == "cuda" else torch.float32
    pipe = build(model, args.tiny, args.layers, args.device, dtype)
    blank_decode(pipe.vae)
    channels, scaling, shift = LATENT[model]
    published = known_map(SimpleNamespace(block_out_channels=(128, 256, 512, 512), latent_channels=channels,
                                          scaling_factor=scaling, shift_factor=shift))  # fmt: skip
    assert published is not None
    # Bare's thread count, so the difference is the runner's own cost.
    runner = Runner(pipe, preview=LatentPreview(*published), cpu_threads=torch.get_num_threads())
    size = 64 if args.tiny else (512 if model == "sd" else 1024)
    common = {"height": size, "width": size, **CALL[model]}
    failed: list[str] = []

    def bare(steps: int, stamps: Stamps | None) -> None:
        timed = {"callback_on_step_end": stamps} if stamps else {}
        pipe("a red star", num_inference_steps=steps, generator=torch.Generator().manual_seed(0), **common, **timed)

    def ours(steps: int, stamps: Stamps | None) -> None:
        run = runner.generate("a red star", num_inference_steps=steps, seed=0, callbacks=[stamps] if stamps else [],
                              **common)  # fmt: skip
        if run.error is not None:
            failed.append(f"{type(run.error).__name__}: {str(run.error)[:200]}")

    bare_ms = step_ms(bare, args.steps, args.device)
    ours_ms = step_ms(ours, args.steps, args.device)
    host = [1e6 * t for t in clock.host[-args.steps :]]  # the last call's steps
    syncs = "" if args.device != "cuda" else ("; 0 syncs/step" if not failed else f"; SYNCED: {failed[0]}")
    return (f"{model:5s} bare {bare_ms:9.1f} ms/step  runner {ours_ms:9.1f} ms/step  ratio {ours_ms / bare_ms:.3f}  "
            f"callback host median {statistics.median(host):6.0f} us (max {max(host):6.0f})  "
            f"share {statistics.median(host) / (1000 * ours_ms):.3%}{syncs}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--layers", type=int, default=None, help="at most this many of each repeated layer")
    parser.add_argument("--tiny", action="store_true", help="the layouts at a width CI affords, 64²")
    args = parser.parse_args(argv)
    if args.layers is None and args.device == "cpu" and not args.tiny:
        args.layers = 1
    cut = "every layer" if args.layers is None else f"layers cut to at most {args.layers} of each kind"
    print(f"device={args.device} steps={args.steps} {'tiny widths' if args.tiny else 'real widths'}, {cut}; "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    clock = CallbackClock()
    original = _hook.StepHook.callback_fn
    checked = strict(original) if args.device == "cuda" else original
    _hook.StepHook.callback_fn = clock.wrap(checked)  # type: ignore[method-assign]
    try:
        for model in args.models:
            print(measure(model, args, clock), flush=True)
    finally:
        _hook.StepHook.callback_fn = original  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
