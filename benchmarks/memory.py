"""Kernel memory over one long run and many runs through the widget: flat once the history is full.

    python benchmarks/memory.py [--steps 1000] [--runs 200] [--run-steps 20] [--size 128] [--history 16]

What a user holds in a kernel: a ``SamplerWidget`` observing a ``Runner`` on the embedded demo
model, its runs started by "generate" messages and hosted on an asyncio loop on the main thread,
as in a kernel. The browser is a sink that acknowledges every frames message and keeps nothing.
First one run of ``--steps`` steps, then ``--runs`` back-to-back runs of ``--run-steps``, all at
``--size`` px with frames of that size. The runner keeps ``--history`` runs (frames, PNGs, latents
and UNet outputs within its budgets); once that many short runs have followed the long one it is
gone and every run drops the oldest, so the process's resident memory should stop growing.

Prints RSS (psutil, else /proc/self/statm) at the start, after the long run, once the history is
full and at the end, and the growth per run after the history is full (least-squares slope over
the RSS after each run, and end minus full over the runs between). Garbage is collected before
each reading, so what grows is held, not merely not yet collected.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
from collections.abc import Sequence
from typing import Any

import torch

from sdwidget import Run, Runner, SamplerWidget, demo_pipeline

MIB = 1 << 20


def rss() -> int:
    """Resident bytes of this process, garbage collected first."""
    gc.collect()
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sink:
    """The browser: acknowledges each frames message at once, as the page does once it painted,
    and keeps nothing but a count."""

    def __init__(self, widget: SamplerWidget) -> None:
        self.widget, self.frames = widget, 0
        widget.send = self.receive

    def receive(self, message: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        if message["type"] == "frames":
            self.frames += len(message["frames"])
            self.say({"type": "ack", "run": message["frames"][0]["run"]})

    def say(self, content: dict[str, Any]) -> None:
        self.widget._on_message(self.widget, content, [])


async def one_run(sink: Sink, steps: int, seed: int) -> Run:
    """A run as the Generate button starts it, to its end and the widget's last update."""
    sink.say({"type": "generate", "prompt": "a small yellow circle at the top left on a black background",
              "negative_prompt": "", "steps": steps, "seed": seed, "guidance": 5.0})  # fmt: skip
    runner = sink.widget.runner
    assert runner is not None and runner.run is not None
    run = runner.run
    while not run.done:  # the loop turns between steps, as a kernel's does
        await asyncio.sleep(0)
    while sink.widget.run_id != run.id or sink.widget.status != run.status.value:  # the sender's last batch
        await asyncio.sleep(0.005)
    assert run.status.value == "finished", run.traceback
    return run


def slope(values: Sequence[float]) -> float:
    """Least-squares growth per sample."""
    if len(values) < 2:
        return 0.0
    xs = range(len(values))
    mx, my = statistics.fmean(xs), statistics.fmean(values)
    return sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum((x - mx) ** 2 for x in xs)


async def session(args: argparse.Namespace) -> None:
    start = rss()
    runner = Runner(demo_pipeline(), thumbnail_size=args.size, history=args.history)
    widget = SamplerWidget(runner, pace=0, height=args.size, width=args.size)
    sink = Sink(widget)
    loaded = rss()
    side = (await one_run(sink, args.steps, seed=0)).steps[-1].frame.image().size  # held by the history alone
    long_run = rss()
    after: list[int] = []  # RSS after each short run once the history is full
    full = None
    for i in range(args.runs):
        await one_run(sink, args.run_steps, seed=i + 1)
        if i + 1 >= args.history:  # the long run and all its frames have been dropped
            after.append(rss())
            full = full or i + 1
    widget.close()
    print(f"demo model at {args.size}x{args.size}, frames {side[0]}x{side[1]} px, history {args.history} runs, "
          f"{args.runs} runs of {args.run_steps} steps after one of {args.steps}, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    lines = {"at start": start, "with the model and widget": loaded, f"after the {args.steps}-step run": long_run}
    if full is not None:
        lines |= {f"with the history full (run {full})": after[0], f"at the end (run {args.runs})": after[-1]}
    for label, value in lines.items():
        print(f"RSS {label:34s} {value / MIB:8.1f} MiB")
    if full is None:
        print(f"history never full: {args.runs} runs after the long one, history {args.history}")
        return
    per_run = (after[-1] - after[0]) / max(1, len(after) - 1)
    print(f"growth per run after the history is full: {slope(after) / 1024:.1f} KiB (fit), "
          f"{per_run / 1024:.1f} KiB (end - full) over {len(after) - 1} runs")  # fmt: skip
    live = sum(type(obj) is Run for obj in gc.get_objects())  # type(), not isinstance: no lazy proxies
    print(f"Run objects alive at the end: {live} (history {len(runner.history)}); frames acknowledged: {sink.frames}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="steps of the long run")
    parser.add_argument("--runs", type=int, default=200, help="back-to-back runs after it")
    parser.add_argument("--run-steps", type=int, default=20, help="steps of each of those runs")
    parser.add_argument("--size", type=int, default=128, help="image side and frame side, px")
    parser.add_argument("--history", type=int, default=16, help="runs the runner keeps (its default: 16)")
    asyncio.run(session(parser.parse_args()))


if __name__ == "__main__":
    main()
