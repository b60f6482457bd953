"""The guidance lens: what one lens costs the kernel, and the browser's drag → painted latency.

    python benchmarks/lens.py [--rounds 30] [--steps 20] [--at 10] [--browser] [--moves 30]

On the embedded demo model (64×64, guidance 5, CPU). The kernel part holds a run before step
``--at`` (its model call made once, by the first lens: ``Run.peek``) and times, over ``--rounds``
guidance values: the lens's x0 alone (``Run.lens``), with its frame's pixels (the demo's preview
decodes with the VAE, on its worker thread), and with the PNG the widget sends; a recorded step's
lens (What if); the quick picture a moving slider is shown (the demo's preview decoder net); what
the page gets once per step to draw that picture itself (``lens_local``: the affine part checked
at five values; the net's recipe only once per preview state); one step's guidance effect; and,
for scale, the bare pipeline's time per step.

``--browser`` then measures the browser's drag → painted latency (``lens_browser.py``; goal:
median ≤ 50 ms); ``--browser-only`` that alone. The paid lens's costs, and those of the other half
of a step run with CFG off, are ``lens_paid.py``'s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from lens_browser import browser
from lens_paid import half, paid

from sdwidget import Runner, demo_pipeline
from sdwidget.widget.lens_local import local_part
from sdwidget.widget.sender import encode

PROMPT = "a red star on a blue background"


def spread(ms: list[float]) -> str:
    p90 = statistics.quantiles(ms, n=10)[-1] if len(ms) > 1 else ms[0]
    return f"median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms (n={len(ms)})"


def timed(fn: Callable[[float], object], rounds: int) -> list[float]:
    out = []
    for i in range(rounds):
        start = time.perf_counter()
        fn(2.0 + 6.0 * i / max(1, rounds - 1))  # a new value each time, as a drag gives
        out.append((time.perf_counter() - start) * 1000)
    return out


def kernel(args: argparse.Namespace) -> None:
    pipe = demo_pipeline()
    call = {"num_inference_steps": args.steps, "guidance_scale": 5.0}
    pipe(PROMPT, **call, generator=torch.Generator().manual_seed(0))  # warm-up
    start = time.perf_counter()
    pipe(PROMPT, **call, generator=torch.Generator().manual_seed(1))
    bare = (time.perf_counter() - start) * 1000 / args.steps
    runner = Runner(pipe)
    run = runner.start(PROMPT, **call, seed=1, pause_at=[args.at], keep_latents=True)
    while not (run.controls.paused and len(run.steps) == args.at):
        run.wait(0.01)
    start = time.perf_counter()
    run.lens(args.at, 5.0).frame.image()
    first = (time.perf_counter() - start) * 1000
    k = args.at
    print(f"torch threads: {torch.get_num_threads()}; bare pipeline step: {bare:.1f} ms")
    print(f"held step's first lens (its model call, made early): {first:.1f} ms")
    print(f"lens ms, x0 only:                {spread(timed(lambda g: run.lens(k, g), args.rounds))}")
    pixels = timed(lambda g: run.lens(k, g).frame.image(), args.rounds)
    print(f"lens ms, with the frame's pixels: {spread(pixels)}")
    widget = timed(lambda g: encode(run.lens(k, g).frame.image()), args.rounds)
    print(f"lens ms, as the widget sends it: {spread(widget)}  ({statistics.median(widget) / bare:.2f} of a step)")
    quick = timed(lambda g: encode(run.lens(k, g).quick.image()), args.rounds)
    print(f"lens ms, its quick picture as sent (the slider moving): {spread(quick)}")
    asked = {"id": 0, "run": run.id, "step": k}
    first, buffers = local_part(run, asked, runner.knobs[0])  # a page holding no recipe (a new one)
    held = {**asked, "recipe": first["recipe"]}  # the page holds the preview's recipe: A and B alone
    local = timed(lambda g: local_part(run, held, runner.knobs[0]), max(2, args.rounds // 5))
    size = sum(map(len, local_part(run, held, runner.knobs[0])[1])) / 1024
    print(f"the page's own lens, once per step (A, B verified): {spread(local)}, {size:.0f} KiB; "
          f"with the recipe, once per preview state: {sum(map(len, buffers)) / 1024:.0f} KiB")  # fmt: skip
    run.resume()
    run.wait()
    past = timed(lambda g: encode(run.lens(2, g).frame.image()), args.rounds)
    print(f"recorded step's lens (What if), as sent: {spread(past)}")
    start = time.perf_counter()
    run.guidance_effect()
    print(f"guidance effect: {(time.perf_counter() - start) * 1000 / args.steps:.2f} ms per step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--at", type=int, default=10)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--browser-only", action="store_true", help="the browser's latency alone")
    args = parser.parse_args()
    if not args.browser_only:
        kernel(args)
        paid(args)
        half(args)
    if args.browser or args.browser_only:
        browser(args)


if __name__ == "__main__":
    main()
