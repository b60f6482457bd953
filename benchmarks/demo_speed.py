"""Speed of the embedded demo model: 20 steps at 64×64, guidance 5, on this machine's CPU.

    python benchmarks/demo_speed.py [--rounds 5]

Prints the median wall time of the bare pipeline called from the main thread (goal ≤ 1.5 s on
the 2-core CPU of CI), of the runner (background thread, previews, controls; one CPU thread,
its default for a model this small) and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sdwidget import Runner, demo_pipeline

PROMPT = "a small yellow circle at the top left on a black background"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pipe = demo_pipeline()
    runner = Runner(pipe)
    call = {"num_inference_steps": 20, "guidance_scale": 5.0, "height": 64, "width": 64}
    pipe(PROMPT, **call, generator=torch.Generator().manual_seed(0))  # warm-up
    runner.generate(PROMPT, **call, seed=0)
    bare, run = [], []
    for i in range(args.rounds):
        start = time.perf_counter()
        pipe(PROMPT, **call, generator=torch.Generator().manual_seed(i))
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        runner.generate(PROMPT, **call, seed=i)
        run.append(time.perf_counter() - start)
    b, r = statistics.median(bare), statistics.median(run)
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"bare pipeline, 20 steps at 64x64: {b:.3f} s  ({b / 20 * 1000:.1f} ms/step)")
    print(f"runner, same call:                {r:.3f} s  ({r / 20 * 1000:.1f} ms/step)")
    print(f"runner / bare: {r / b:.3f}")


if __name__ == "__main__":
    main()
