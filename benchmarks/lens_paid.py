"""The paid guidance lens's kernel cost (``benchmarks/lens.py`` prints it after the free lens's).

On the tiny FLUX.1-dev and FLUX.2 [dev] pipelines (``sdwidget.testing``, 64×64, CPU), whose guidance
is a model input: a finished run of ``--steps`` steps, then at step ``--at`` ``--rounds`` new values
(each one transformer call, ``Run.lens(..., paid=True)``), as the widget sends them (PNG), and the
same values again (the cache: no call). For scale, in the same process: one bare step, the time a
step adds to the bare pipeline's call (``--steps`` steps against one: its encoding and decode cost
the same in both), and the run's own median step. A paid lens should cost about one bare step: the
call, plus the scheduler copy and the frame the free lens pays too. The tiny models' steps are
tens of ms on a CPU: a busy machine moves these numbers more than the lens does.

Then a step run with CFG off (the tiny SD, guidance 1.0): its other half, paid once per step (one
UNet call on both halves' rows, as a step under CFG makes it), against the run's median step (one
half), and any later value at that step (free).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from sdwidget import Runner
from sdwidget.core.threads import run_threads, use_threads
from sdwidget.testing import tiny_flux_pipeline, tiny_sd_pipeline
from sdwidget.testing.flux2_dev import tiny_flux2_dev_pipeline
from sdwidget.widget.sender import encode

PROMPT, SIZE = "a red star on a blue background", 64
MODELS: dict[str, tuple[Callable[[], Any], int]] = {
    "FLUX.1-dev (tiny)": (tiny_flux_pipeline, 16),
    "FLUX.2 [dev] (tiny)": (tiny_flux2_dev_pipeline, 96),
}


def median_ms(fn: Callable[[float], object], values: list[float]) -> float:
    times = []
    for g in values:
        start = time.perf_counter()
        fn(g)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def paid(args: argparse.Namespace) -> None:
    rounds, k = max(2, args.rounds), min(args.at, args.steps - 1)
    values = [2.0 + 6.0 * i / (rounds - 1) for i in range(rounds)]
    for name, (make, tokens) in MODELS.items():
        pipe = make()
        call = {"num_inference_steps": args.steps, "guidance_scale": 3.5, "height": SIZE, "width": SIZE}
        call["max_sequence_length"] = tokens
        calls: dict[int, list[float]] = {steps: [] for steps in (1, args.steps)}
        threads, before = run_threads(pipe, None, SIZE, SIZE), torch.get_num_threads()
        use_threads(threads)  # as many as the run's thread has (threads.py): the same sums, the same wake-ups
        for steps in [1, args.steps] * 3:  # interleaved, the first pair warms up
            start = time.perf_counter()
            pipe(prompt=PROMPT, **{**call, "num_inference_steps": steps}, generator=torch.Generator().manual_seed(1))
            calls[steps].append((time.perf_counter() - start) * 1000)
        bare = (min(calls[args.steps][1:]) - min(calls[1][1:])) / (args.steps - 1)
        torch.set_num_threads(before)
        run = Runner(pipe).generate(PROMPT, **call, seed=1)
        assert run.error is None, run.traceback
        step = statistics.median(event.duration * 1000 for event in run.steps)
        new = median_ms(lambda g, run=run: encode(run.lens(k, g, paid=True).frame.image()), values)
        cached = median_ms(lambda g, run=run: encode(run.lens(k, g).frame.image()), values)
        print(f"{name}: one bare step {bare:.1f} ms, the run's median step {step:.1f} ms ({threads or before} threads)")
        print(f"  paid lens ms, a new value as sent: {new:.1f} ({new / bare:.2f} of a bare step)")
        print(f"  paid lens ms, a value seen before (cached) as sent: {cached:.2f}")


def half(args: argparse.Namespace) -> None:
    run = Runner(tiny_sd_pipeline()).generate(
        PROMPT, negative_prompt="blurry", num_inference_steps=args.steps, guidance_scale=1.0, seed=1
    )
    assert run.error is None, run.traceback
    step = statistics.median(event.duration * 1000 for event in run.steps)

    def shown(k: int, g: float, paid: bool = False) -> bytes:
        return encode(run.lens(k, g, paid=paid).frame.image())

    paid_ms: list[float] = []
    free_ms: list[float] = []
    for k in range(args.steps):  # each step's halves paid for, then another value at once (a few steps are kept)
        paid_ms.append(median_ms(partial(shown, k, paid=True), [6.0]))
        free_ms.append(median_ms(partial(shown, k), [3.0]))
    first, later = statistics.median(paid_ms), statistics.median(free_ms)
    print(f"SD (tiny), steps run with CFG off: the run's median step {step:.1f} ms ({torch.get_num_threads()} threads)")
    print(f"  its other half as sent (one call, both halves' rows): {first:.1f} ms; then any value: {later:.2f} ms")
