"""Sweep throughput on this machine: images per second for 1 and 2 processes, demo model, CPU.

    python benchmarks/sweep.py [--images 24] [--steps 20] [--batch 4] [--memory-only | --batch-only]

Records a steered run (guidance 5 → 1 → 8, 64×64), then sweeps it over ``--images`` seeds with
``python -m sdwidget.sweep`` (1 process, 1 torch thread), the same with ``--threads 2``, and
``accelerate launch --multi_gpu --num_processes 2`` (2 processes × 1 thread; on a machine
without GPUs ``--multi_gpu`` is what starts K CPU processes). For each it prints the rendering
rate (images over the span from the first item's start to the last one's end, read from the
records) and the rate over the command's whole wall time (Python, model load and process
start included), and checks that the 2-process images equal the 1-process ones. Then the same
rates for ``--batch`` seeds per pipeline call (1 process, 1 thread) on the demo model and, in this
process, on the tiny test pipeline at its 32×32, each against unbatched in the same run.

Then, in a fresh process, the peak memory of planning a sweep of 10^8 items (seeds 0:1000000 ×
100 prompts: its plan, sweep.json's identity, the resume scan of an empty folder) and of
enumerating every one of its items, against the same process before it planned anything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sdwidget import Gallery, Runner, StepEvent, demo_pipeline

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "a small yellow circle at the top left on a black background"


def steered_gallery(folder: Path, steps: int) -> Path:
    runner = Runner(demo_pipeline())

    def steer(event: object) -> None:
        if isinstance(event, StepEvent) and event.step in (steps // 4, steps // 2):
            event.run.set_guidance(1.0 if event.step == steps // 4 else 8.0)

    runner.observe(steer)
    run = runner.generate(PROMPT, num_inference_steps=steps, guidance_scale=5.0, seed=0)
    return Gallery.from_run(run).save(folder / "gallery")


def timed(command: list[str], out: Path, images: int) -> tuple[float, float]:
    """(rendering images/s, whole-command images/s)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(records) == images and all(r["status"] == "finished" for r in records)
    span = max(r["timings"]["finished"] for r in records) - min(r["timings"]["started"] for r in records)
    return images / span, images / wall


ENUMERATE = """
import json, resource, sys, tempfile, time
from pathlib import Path
from sdwidget.sweep.folder import SweepFolder
from sdwidget.sweep.job import share
from sdwidget.sweep.plan import SweepPlan
from sdwidget.sweep.inputs import parse_seeds
from sdwidget.sweep.source import Source

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: kB)

before = peak()
source = Source({"prompt": "p", "model": "m"}, [5.0, 1.0])
plan = SweepPlan(source, [f"prompt {i}" for i in range(100)], parse_seeds("0:1000000"), None, True, "m", "float32")
identity = json.dumps(plan.identity())
done = SweepFolder(Path(tempfile.mkdtemp()) / "out").done(plan)
start = time.perf_counter()
count = sum(len(batch) for batch in share(plan, done, 0, 1))
seconds = time.perf_counter() - start
last = plan.item(plan.total - 1)
print(f"{plan.total:.0e} items ({count} enumerated in {seconds:.0f} s, the last {last.name}): peak memory "
      f"{peak():.0f} MiB, {peak() - before:.1f} MiB over the process before planning; sweep.json {len(identity)} bytes")
"""


def batch_rates(images: int, steps: int, batch: int) -> None:
    """The tiny pipeline swept unbatched and in batches of ``batch``, in this process (1 thread)."""
    from sdwidget import sweep
    from sdwidget.testing import tiny_sd_pipeline

    pipe = tiny_sd_pipeline()
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, num_inference_steps=steps, guidance_scale=5.0, seed=0)
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (1, batch):
            start = time.perf_counter()
            sweep(run, seeds=range(images), out=Path(tmp) / str(size), model=pipe, batch=size, progress=False)
            rates.append(images / (time.perf_counter() - start))
    print(f"tiny pipeline, {images} images of 32x32, {steps} steps, 1 thread: {rates[0]:5.2f} images/s unbatched, "
          f"{rates[1]:5.2f} with --batch {batch} (x{rates[1] / rates[0]:.2f})")  # fmt: skip


def enumeration_memory() -> None:
    subprocess.run([sys.executable, "-c", ENUMERATE], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=4, help="seeds per pipeline call for the batched rates")
    parser.add_argument("--memory-only", action="store_true", help="only the 10^8-item enumeration")
    parser.add_argument("--batch-only", action="store_true", help="only the batched against unbatched rates")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.memory_only:
        enumeration_memory()
        return
    if args.batch_only:
        batch_rates(args.images, args.steps, args.batch)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gallery = steered_gallery(folder, args.steps)
        sweep = ["-m", "sdwidget.sweep", str(gallery), "--seeds", f"0:{args.images}", "--no-progress"]
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]  # fmt: skip
        runs = {
            "1 process,  1 thread ": [sys.executable, *sweep, "--out", str(folder / "one")],
            "1 process,  2 threads": [sys.executable, *sweep, "--threads", "2", "--out", str(folder / "threads")],
            "2 processes, 1 thread": [*launch, *sweep, "--out", str(folder / "two")],
            f"--batch {args.batch}, 1 thread ": [sys.executable, *sweep, "--batch", str(args.batch), "--out",
                                                 str(folder / "batch")],
        }  # fmt: skip
        print(f"demo model, {args.images} images of 64x64, {args.steps} steps each, {os.cpu_count()} CPUs")
        rates = []
        for (name, command), out in zip(runs.items(), ("one", "threads", "two", "batch"), strict=True):
            render, whole = timed(command, folder / out, args.images)
            rates.append(render)
            print(f"{name}: {render:5.2f} images/s rendering, {whole:5.2f} images/s for the whole command")
        print(f"--batch {args.batch} / unbatched (1 process, 1 thread, rendering): x{rates[3] / rates[0]:.2f}")
        same = all(
            (folder / "one" / "images" / p.name).read_bytes() == p.read_bytes()
            for p in (folder / "two" / "images").iterdir()
        )
        print(f"2-process images identical to 1-process images: {same}")
    batch_rates(args.images, args.steps, args.batch)
    enumeration_memory()


if __name__ == "__main__":
    main()
