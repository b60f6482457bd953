"""Where a widget's run should go on a GPU: taking turns with the kernel's loop, or a thread.

    python benchmarks/hosts.py --device cuda [--model sd] [--full] [--steps 20] [--rounds 3]

The widget starts its runs under ``Runner.on_kernel()``: on the kernel's own thread, handing the
loop a turn at every step boundary. On the CPU that is the fast host (torch's OpenMP team belongs
to the main thread; ``benchmarks/threads.py``). On a GPU there is no such team, and a run on its
own thread would leave the loop free between the steps' kernel launches. This prints, for each
host, under an asyncio loop turning as a kernel's does, alternated over ``--rounds``:

- **step ms**: the median step (from one step's end to the next), and its ratio to the bare
  pipeline's in the same round;
- **click → held ms**: a pause sent from the loop at a random moment of a step (as a widget message
  arrives) to the run holding at the boundary — the wait a person feels for Pause;
- **loop lag ms**: how late a loop callback due every 10 ms runs meanwhile (median, max): what a
  cell or any widget message waits for while the run goes.

Decide from the printed figures: the thread host is worth it where its step ratio is ≤ 1.01 and
its loop lag is smaller; the figures of the host chosen go into ``Runner.on_kernel``'s notes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
from typing import Any

import torch
from pipelines import build
from shapes import Stamps

from sdwidget import Runner, RunStatus

HOSTS = ("loop", "thread")


def median_step(ends: list[float]) -> float:
    return 1000 * statistics.median(b - a for a, b in zip(ends, ends[1:], strict=False))


async def hosted(runner: Runner, host: str, call: dict[str, Any], sync: Any) -> tuple[float, float, list[float]]:
    """One run on ``host`` under this loop: (step ms, click → held ms, loop lags in ms)."""
    stamps, held, lags = Stamps(), [], []

    def note(event: Any) -> None:
        if getattr(event, "status", None) is RunStatus.PAUSED:
            held.append(time.perf_counter())

    undo = runner.observe(note)
    with runner.on_kernel() if host == "loop" else contextlib.nullcontext():
        run = runner.start("a red star", seed=0, callbacks=[stamps], **call)
    while len(stamps.ends) < 2 and not run.done:  # a click a random moment into the third step
        await asyncio.sleep(0.001)
    step = stamps.ends[-1] - stamps.ends[-2] if len(stamps.ends) >= 2 else 0.0
    # Timed from when it is sent: on the loop host it is handled only at the next boundary.
    clicked = time.perf_counter() + random.uniform(0, step)
    asyncio.get_running_loop().call_at(asyncio.get_running_loop().time() + clicked - time.perf_counter(), run.pause)
    while not run.done:
        due = time.perf_counter() + 0.01
        await asyncio.sleep(0.01)
        lags.append(1000 * max(0.0, time.perf_counter() - due))
        if held and run.controls.paused:
            run.resume()
    sync()
    undo()
    assert run.status is RunStatus.FINISHED, run.traceback
    return median_step(stamps.ends), 1000 * (held[0] - clicked) if held else float("nan"), lags


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", choices=("sd", "sdxl"), default="sd")
    parser.add_argument("--full", action="store_true", help="the real widths (SD 1.5: 860 M parameters)")
    parser.add_argument("--size", type=int, default=None, help="image side (default 512, SDXL 1024; 64 on the CPU)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.steps < 6:
        parser.error("--steps must be at least 6: the click lands in the third step and the run goes on after it")
    size = args.size or (64 if args.device == "cpu" else 1024 if args.model == "sdxl" else 512)
    dtype = torch.float16 if args.device == "cuda" else torch.float32
    pipe = build(args.model, args.full, args.device, dtype)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    call = {"num_inference_steps": args.steps, "height": size, "width": size, "guidance_scale": 7.5}
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())  # the bare pipeline's: the hosts' own cost shows
    pipe("a red star", num_inference_steps=2, height=size, width=size)  # warm-up: allocator, kernels
    runner.generate("a red star", seed=0, **{**call, "num_inference_steps": 2})
    print(f"device={args.device} model={args.model} {'full' if args.full else 'reduced'} width, {size}², "
          f"{args.steps} steps, rounds {args.rounds}")  # fmt: skip
    rows: dict[str, list[tuple[float, float, float, list[float]]]] = {host: [] for host in HOSTS}
    for _ in range(args.rounds):  # alternated, so a slow moment of the machine hits every host
        bare = Stamps()
        pipe("a red star", generator=torch.Generator(args.device).manual_seed(0), callback_on_step_end=bare, **call)
        sync()
        for host in HOSTS:
            step, click, lags = asyncio.run(hosted(runner, host, call, sync))
            rows[host].append((step, median_step(bare.ends), click, lags))
    for host, got in rows.items():
        ratio = statistics.median(step / bare for step, bare, _, _ in got)
        lags = [lag for *_, round_lags in got for lag in round_lags]
        print(f"{host:6s} step {statistics.median(r[0] for r in got):8.1f} ms  ratio {host}/bare {ratio:.3f}  "
              f"click → held {statistics.median(r[2] for r in got):7.1f} ms  "  # NaN: no round held
              f"loop lag median {statistics.median(lags):6.1f} ms (max {max(lags):6.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
