"""The guidance lens: what one lens costs the kernel, and the browser's drag → painted latency.

    python benchmarks/lens.py [--rounds 30] [--steps 20] [--at 10] [--browser] [--moves 30]

On the embedded demo model (64×64, guidance 5, CPU). The kernel part holds a run before step
``--at`` (its model call made once, by the first lens: ``Run.peek``) and times, over ``--rounds``
guidance values: the lens's x0 alone (``Run.lens``), with its frame's pixels (the demo's preview
decodes with the VAE, on its worker thread), and with the PNG the widget sends; a recorded step's
lens (What if); one step's guidance effect; and, for scale, the bare pipeline's time per step.

``--browser`` then opens the widget in JupyterLab (Debian's Chromium, Playwright: the browser
tests' helpers), holds a run, and presses the Guidance slider's arrow keys ``--moves`` times, one
at a time, then drags it: each preview's time from the slider's input event to the frame painted
with the new image (the page's own ``sdwidgetStats.lens``). Goal: median ≤ 50 ms. Then the paid lens (``lens_paid.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from lens_paid import paid

from sdwidget import Runner, demo_pipeline
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
    run.resume()
    run.wait()
    past = timed(lambda g: encode(run.lens(2, g).frame.image()), args.rounds)
    print(f"recorded step's lens (What if), as sent: {spread(past)}")
    start = time.perf_counter()
    run.guidance_effect()
    print(f"guidance effect: {(time.perf_counter() - start) * 1000 / args.steps:.2f} ms per step")


class Folders:
    """``tmp_path_factory``'s ``mktemp``, for the browser tests' server helper."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sdwidget-lens-"))

    def mktemp(self, name: str) -> Path:
        (path := self.root / name).mkdir()
        return path


def browser(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from playwright.sync_api import sync_playwright
    from test_browser import KERNEL_EVAL, jupyter_server, launch
    from test_browser_knobs import LAB_FLAGS
    from test_browser_lens import SETUP, open_notebook

    folders = Folders()
    root = folders.mktemp("notebooks")
    cell = {"cell_type": "code", "metadata": {}, "source": SETUP, "outputs": [], "execution_count": None}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    (root / "lens.ipynb").write_text(json.dumps(nb))
    for url, token in jupyter_server("jupyterlab", folders, root, LAB_FLAGS):
        with sync_playwright() as p:
            page = launch(p).new_page(viewport={"width": 1300, "height": 1000})
            open_notebook(page, url, token)
            page.evaluate(KERNEL_EVAL, "widget.breakpoints = [6]")  # of SETUP's 12 steps
            page.get_by_role("button", name="Generate").click()
            page.wait_for_function("document.querySelector('.sdw').dataset.shownStep === '6'", timeout=120_000)
            slider = page.get_by_role("slider", name="Guidance", exact=True)
            slider.focus()
            for i in range(args.moves):
                slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
                page.wait_for_function(f"window.sdwidgetStats.lens.length > {i}", timeout=30_000)
            print(f"browser, arrow key -> painted: {spread(page.evaluate('window.sdwidgetStats.lens'))}")
            page.evaluate("window.sdwidgetStats.lens = []")
            box = slider.bounding_box()
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * 0.1, y)
            page.mouse.down()
            for i in range(args.moves):
                page.mouse.move(box["x"] + box["width"] * (0.1 + 0.6 * i / args.moves), y)
                page.wait_for_timeout(16)  # a pointer's pace: about one move a frame
            page.mouse.up()
            page.wait_for_timeout(1500)
            drag = page.evaluate("window.sdwidgetStats.lens")
            print(f"browser, drag -> painted (the newest value wins): {spread(drag)}")
            print("goal: median <= 50 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--at", type=int, default=10)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--moves", type=int, default=30)
    args = parser.parse_args()
    kernel(args)
    paid(args)
    if args.browser:
        browser(args)


if __name__ == "__main__":
    main()
