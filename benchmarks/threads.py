"""The CPU thread rule (``core/threads.py``) measured per host and size: which count is fastest.

    python benchmarks/threads.py [--rounds 3] [--models demo sd256]

For each model and each host a run can have (``generate()`` on the calling main thread,
``on_kernel()`` taking turns with an asyncio loop on the main thread, as the widget's runs do,
and ``start()``'s own thread), the median wall time per step with torch on 1 thread and on all
of this machine's cores, and beside it what the rule picks (``run_threads``) and whether that is
the fastest. "demo" is the embedded demo model at 64² (20 steps); "sd256" SD 1.5's layout at a
width CI affords at 256² (6 steps) — both under the rule's 100 M parameters.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from pipelines import build

from sdwidget import Runner, demo_pipeline
from sdwidget.core.threads import run_threads

MODELS: dict[str, tuple[Callable[[], Any], dict[str, Any]]] = {
    "demo": (demo_pipeline, {"num_inference_steps": 20, "guidance_scale": 5.0, "height": 64, "width": 64}),
    "sd256": (lambda: build("sd", False, "cpu", torch.float32),
              {"num_inference_steps": 6, "guidance_scale": 7.5, "height": 256, "width": 256}),
}  # fmt: skip
HOSTS = ("main", "loop", "thread")


def host_run(runner: Runner, host: str, call: dict[str, Any]) -> None:
    """One run of ``call`` on ``host``."""
    if host == "main":
        run = runner.generate("a red star", seed=0, **call)
    elif host == "thread":
        run = runner.start("a red star", seed=0, **call)
        run.wait()
    else:

        async def hosted() -> Any:
            with runner.on_kernel():
                going = runner.start("a red star", seed=0, **call)
            while not going.done:  # the loop turns between steps, as a kernel's handles messages
                await asyncio.sleep(0)
            return going

        run = asyncio.run(hosted())
    assert run.status.value == "finished", run.traceback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    counts = sorted({1, cores})
    print(f"cores {cores}; torch threads by default {torch.get_num_threads()}; rounds {args.rounds}")
    for name in args.models:
        make, call = MODELS[name]
        pipe = make()
        ruled = run_threads(pipe, None, call["height"], call["width"]) or torch.get_num_threads()
        runners = {count: Runner(pipe, cpu_threads=count) for count in counts}
        for runner in runners.values():
            host_run(runner, "main", call)  # warm-up: allocator, kernels, the preview's fit
        times: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.rounds):  # alternated, so a slow moment of the machine hits every cell
            for host in HOSTS:
                for count, runner in runners.items():
                    started = time.perf_counter()
                    host_run(runner, host, call)
                    times.setdefault((host, count), []).append(time.perf_counter() - started)
        steps = call["num_inference_steps"]
        for host in HOSTS:
            ms = {count: 1000 * statistics.median(times[host, count]) / steps for count in counts}
            best = min(ms, key=lambda count: ms[count])
            cells = "  ".join(f"{count} thread{'s' if count > 1 else ''} {ms[count]:7.1f} ms/step" for count in counts)
            verdict = "fastest" if ms[ruled] <= ms[best] * 1.02 else f"{ms[ruled] / ms[best]:.2f}× the fastest"
            print(f"{name:6s} {host:6s} {cells}   rule picks {ruled}: {verdict}")


if __name__ == "__main__":
    main()
