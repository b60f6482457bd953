"""What the runner costs over the bare pipeline: same pipeline, same seed, alternated in one process.

    python benchmarks/overhead.py [--model sdxl]                      # CPU: the layout at reduced width, 256×256
    python benchmarks/overhead.py --full --device cuda [--model sdxl] # GPU: real sizes, 512² (SDXL 1024²), fp16

Random weights (``pipelines.py``): a step costs the same whatever the weights are. Prints the
step callback's median host cost and the wall-time ratios runner / bare (goal ≤ 1.05 on the CPU,
≤ 1.01 on a GPU). The bare pipeline is timed from the main thread, as a user calls it, and from a
background thread: on a CPU a second OpenMP team wakes slowly (pytorch/pytorch#37259), so
start/bare-thread is the runner's own cost and the others are what a user feels: ``generate()``
runs in the calling thread, ``start()`` in a background one, and "widget" is hosted on an asyncio
loop on the main thread (``Runner.on_kernel``), as the widget's runs are in a kernel.

On CUDA it then records CUDA events on the current stream around every step callback of one run
(GPU time against host time, one step's timeline) and counts host syncs over one run, bare and
through the runner, with ``torch.cuda.set_sync_debug_mode("warn")`` (goal: the runner adds none).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from pipelines import MODELS, SIZES, build, ways

from sdwidget import Runner
from sdwidget.core import hook as _hook

SYNC = "synchronizing CUDA operation"
"""What torch's warning for a host sync says under sync-debug mode ``"warn"``."""


class CallbackClock:
    """Wraps ``StepHook.callback_fn``: the host time of every call; while ``event`` is set (a
    ``torch.cuda.Event`` factory), events on the current stream just before and after it; while
    ``caught`` is set (``count_syncs``'s warnings), the host syncs inside each call."""

    def __init__(self) -> None:
        self.host: list[float] = []
        self.events: list[tuple[Any, Any]] = []
        self.event: Callable[[], Any] | None = None
        self.caught: list[warnings.WarningMessage] | None = None
        self.syncs: list[int] = []

    def wrap(self, callback: Callable[..., dict]) -> Callable[..., dict]:
        def timed(hook: Any, *args: Any) -> dict:
            pair = (self.event(), self.event()) if self.event else None
            seen = len(self.caught) if self.caught is not None else 0
            if pair:
                pair[0].record()
            t0 = time.perf_counter()
            out = callback(hook, *args)
            self.host.append(time.perf_counter() - t0)
            if pair:
                pair[1].record()
                self.events.append(pair)
            if self.caught is not None:
                self.syncs.append(sum(SYNC in str(w.message) for w in self.caught[seen:]))
            return out

        return timed

    def timeline(self) -> list[str]:
        """The recorded run, read once its events have completed: the callbacks' GPU time
        (stream time between the events around each, which includes any gap the host left),
        against their host time and the GPU time of the steps between them."""
        n = len(self.events)
        if n < 2:
            return [f"callback timeline: {n} callback recorded; two or more steps are needed"]
        gpu = [before.elapsed_time(after) for before, after in self.events]  # milliseconds
        steps = [self.events[i - 1][1].elapsed_time(self.events[i][0]) for i in range(1, n)]
        host, mid = [1000 * t for t in self.host[-n:]], n // 2
        return [
            f"callback timeline, step {mid + 1} of {n} (CUDA events, current stream): GPU step before it "
            f"{steps[mid - 1]:.3f} ms, then the callback: GPU {1000 * gpu[mid]:.0f} us, host {1000 * host[mid]:.0f} us",
            f"callbacks over the run: GPU median {1000 * statistics.median(gpu):.0f} us, host median "
            f"{1000 * statistics.median(host):.0f} us; their share of the GPU time from the first to the "
            f"last: {sum(gpu) / (sum(gpu) + sum(steps)):.2%}",
        ]


def count_syncs(fn: Callable[[], None], clock: CallbackClock) -> int:
    """Host synchronisations while ``fn`` runs (torch warns once for each in sync-debug mode
    ``"warn"``); those inside step callbacks go to ``clock.syncs``, one count per callback."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clock.caught, clock.syncs = caught, []
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode(0)
            clock.caught = None
    return sum(SYNC in str(w.message) for w in caught)


def cold_floor(pipe: Any, preview: Any, call: dict[str, Any]) -> list[str]:
    """What any step callback pays first on the CPU: one bare run whose callback makes the
    runner's preview frame twice. The first finds the caches as the model's call left them, the
    second warm; the difference is paid by whatever runs first after a step (the bare pipeline's
    own next work included), so it is not the runner's."""
    first: list[float] = []
    again: list[float] = []

    def callback(pipe: Any, step: int, timestep: Any, kwargs: dict) -> dict:
        for times in (first, again):
            t0 = time.perf_counter()
            preview.frame(kwargs["latents"])
            times.append(time.perf_counter() - t0)
        return kwargs

    pipe("a red star on a blue background", generator=torch.Generator().manual_seed(0), callback_on_step_end=callback,
         **call)  # fmt: skip
    cold, warm = 1e6 * statistics.median(first), 1e6 * statistics.median(again)
    return [
        f"a bare callback's preview frame, first after the model's call: median {cold:.0f} us; "
        f"the same frame again: {warm:.0f} us (cold caches, paid by any first work after a step)"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", choices=MODELS, default="sd", help="SD 1.x or SDXL layout")
    parser.add_argument("--full", action="store_true", help="the real model's sizes (UNet, VAE, text encoders)")
    parser.add_argument("--size", type=int, default=None, help="image side (default 256; full: 512 SD, 1024 SDXL)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.size or (SIZES[args.model] if args.full else 256)
    dtype = torch.float16 if args.device == "cuda" else torch.float32
    pipe = build(args.model, args.full, args.device, dtype)
    # The same thread count as bare-in-thread, so the ratio is the runner's own cost (by default
    # it would pick one thread for this small model; demo_speed.py times that default).
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    clock = CallbackClock()
    _hook.StepHook.callback_fn = clock.wrap(_hook.StepHook.callback_fn)  # type: ignore[method-assign]
    common = {"num_inference_steps": args.steps, "guidance_scale": 7.5, "height": size, "width": size}
    modes = ways(pipe, runner, "a red star on a blue background", common)
    bare, ours = modes["bare"], modes["generate"]
    bare(), ours()  # warm-up: allocator, kernels, calibration
    clock.host.clear()
    times: dict[str, list[float]] = {name: [] for name in modes}
    sync = torch.cuda.synchronize if args.device == "cuda" else lambda: None
    for _ in range(args.rounds):
        for name, fn in modes.items():
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"model={args.model} full={args.full} device={args.device} dtype={dtype} size={size} steps={args.steps} "
          f"rounds={args.rounds} torch_threads={torch.get_num_threads()}")  # fmt: skip
    for name, value in medians.items():
        print(f"{name:12s} median {value:.3f} s  ({1000 * value / args.steps:.1f} ms/step)")
    host = clock.host
    print(f"step callback host median {1e6 * statistics.median(host):.0f} us  (max {1e6 * max(host):.0f} us)")
    print(f"ratio start/bare-thread  {medians['start'] / medians['bare-thread']:.4f}  (the runner's own cost)")
    print(f"ratio generate/bare      {medians['generate'] / medians['bare']:.4f}  (what a user of generate() feels)")
    print(f"ratio start/bare         {medians['start'] / medians['bare']:.4f}  (a background run: Python's start())")
    print(f"ratio widget/bare        {medians['widget'] / medians['bare']:.4f}  (what a user of the widget feels)")
    if args.device == "cpu":
        print(*cold_floor(pipe, runner.preview, common), sep="\n")
    if args.device == "cuda":
        clock.event = lambda: torch.cuda.Event(enable_timing=True)
        ours()
        torch.cuda.synchronize()
        print(*clock.timeline(), sep="\n")
        clock.event = None
        base, with_runner = count_syncs(bare, clock), count_syncs(ours, clock)
        print(f"host syncs over one run: bare {base}, runner {with_runner} (adds {with_runner - base}; goal 0)")
        synced = sum(count > 0 for count in clock.syncs)
        print(f"step callbacks that synced: {synced} of {len(clock.syncs)} ({sum(clock.syncs)} syncs; goal 0)")


if __name__ == "__main__":
    main()
