"""Going back to a step: ``runner.branch(run, 25)`` of a 50-step run against computing 25 steps.

    python benchmarks/branch.py [--rounds 5] [--steps 50] [--at 25]

On the embedded demo model (64×64, guidance 5, CPU). "branch" is the time from calling
``branch()`` until the branch stands at the end of step 25, ready to compute its first new step;
"recompute" is the parent's own time to reach the end of step 25. The goal is a ratio under 5%.
The time to the first new step (step 26, one UNet step more) is printed too. It also prints what a
run keeps to be branched from (its UNet outputs) per step.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from sdwidget import Runner, StepEvent, demo_pipeline

PROMPT = "a small yellow circle at the top left on a black background"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--at", type=int, default=25)
    args = parser.parse_args()
    runner = Runner(demo_pipeline())
    reached, first_new = threading.Event(), threading.Event()
    runner.observe(lambda e: isinstance(e, StepEvent) and e.step == args.at - 1 and reached.set())
    runner.observe(lambda e: isinstance(e, StepEvent) and e.step == args.at and first_new.set())
    call = {"num_inference_steps": args.steps, "guidance_scale": 5.0}
    runner.generate(PROMPT, **call, seed=99)  # warm-up
    branch, new_step, recompute = [], [], []
    for seed in range(args.rounds):
        parent = runner.generate(PROMPT, **call, seed=seed)
        recompute.append(parent.steps[args.at - 1].elapsed)
        reached.clear()
        first_new.clear()
        started = time.perf_counter()
        child = runner.branch(parent, args.at, guidance_scale=2.0)
        reached.wait()
        branch.append(time.perf_counter() - started)
        first_new.wait()
        new_step.append(time.perf_counter() - started)
        child.wait()
    b, n, r = statistics.median(branch), statistics.median(new_step), statistics.median(recompute)
    kept = parent.plan.outputs
    per_step = kept.used / max(1, len(kept)) if kept is not None else 0
    print(f"recompute {args.at} of {args.steps} steps: {r * 1000:.1f} ms")
    print(f"branch() to standing at the end of step {args.at}: {b * 1000:.1f} ms")
    print(f"branch / recompute: {b / r:.3f}  (goal < 0.05)")
    print(f"branch() to its first new step, step {args.at + 1}, computed: {n * 1000:.1f} ms")
    print(f"kept for branching: {per_step / 1024:.1f} KiB per step, {kept.used / 1024:.0f} KiB for the run")


if __name__ == "__main__":
    main()
