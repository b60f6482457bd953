"""The guidance lens in a browser: drag → painted latency on a held run (``lens.py --browser``).

JupyterLab with Debian's Chromium (Playwright, the browser tests' shared helpers) shows the demo
widget held before step 7 of 12. The Guidance slider's arrow keys are pressed ``--moves`` times,
one at a time, then it is dragged at a pointer's pace: each preview's time from the slider's input
to the frame painted with its image (the page's ``sdwidgetStats.lens``): the lens's quick picture,
the demo's preview decoder net. Goal: median ≤ 50 ms. Then, from each rest of the slider (no input
for ``REST`` ms), to the run's own preview painted, the VAE's decode (``sdwidgetStats.lensRest``).
Printed beside: the requests' trips (sent → answered, ``lensTrip``) and the kernel's time answering
one (the lens, its picture, the PNG and the send), so the rest is the browser's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REST = 250
"""ms without input after which the page asks for the run's own preview (``REST`` in js/src/lens.js)."""
RESTS = 10
"""Times the slider is left at rest after a key, for the rest → decode painted figure."""
TIMED = """import time as _time
_answered = []
def _timed(run, reply, _answer=widget._answer):
    start = _time.perf_counter()
    _answer(run, reply)
    _answered.append((_time.perf_counter() - start) * 1000)
widget._answer = _timed"""


def spread(ms: list[float]) -> str:
    if not ms:
        return "none"
    p90 = statistics.quantiles(ms, n=10)[-1] if len(ms) > 1 else ms[0]
    return f"median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms (n={len(ms)})"


class Folders:
    """``tmp_path_factory``'s ``mktemp``, for the browser tests' shared server."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sdwidget-lens-"))

    def mktemp(self, name: str) -> Path:
        (path := self.root / name).mkdir()
        return path


def browser(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser_fixtures import Browsers, notebook
    from test_browser import KERNEL_EVAL
    from test_browser_lens import SETUP

    browsers = Browsers(Folders())  # the helper asks its tmp_path_factory only for mktemp
    try:
        with browsers.page("lens.ipynb", notebook(SETUP)) as page:
            page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
            page.evaluate(KERNEL_EVAL, "widget.breakpoints = [6]")  # of SETUP's 12 steps
            page.get_by_role("button", name="Generate").click()
            page.wait_for_function("document.querySelector('.sdw').dataset.shownStep === '6'", timeout=120_000)
            page.evaluate(KERNEL_EVAL, TIMED)
            measure(page, args.moves)
            answered = page.evaluate(KERNEL_EVAL, "_answered")
            print(f"the kernel answering a lens request (all of them): {spread(eval(answered))}")
    finally:
        browsers.close()


def measure(page: Any, moves: int) -> None:
    """Arrow keys one at a time, then a drag at a pointer's pace, on the held run's Guidance slider."""
    slider = page.get_by_role("slider", name="Guidance", exact=True)
    slider.focus()
    for i in range(moves):
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"window.sdwidgetStats.lens.length > {i}", timeout=30_000)
    report(page, "arrow key -> painted")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    for i in range(moves):
        page.mouse.move(box["x"] + box["width"] * (0.1 + 0.6 * i / moves), y)
        page.wait_for_timeout(16)  # a pointer's pace: about one move a frame
    page.mouse.up()
    page.wait_for_timeout(1500)
    report(page, "drag -> painted (the newest value wins)")
    rested = page.evaluate("window.sdwidgetStats.lensRest.length")
    for i in range(RESTS):  # a key, then the slider at rest until the decode is painted
        slider.press("ArrowRight")
        page.wait_for_function(f"window.sdwidgetStats.lensRest.length > {rested + i}", timeout=30_000)
    print(f"browser, at rest ({REST} ms after the last input) -> the VAE's decode painted: {stats(page, 'lensRest')}")
    print("goal: median <= 50 ms")


def stats(page: Any, name: str) -> str:
    return spread(page.evaluate(f"window.sdwidgetStats.{name}"))


def report(page: Any, what: str) -> None:
    print(f"browser, {what}: {stats(page, 'lens')}; of which sent -> answered: {stats(page, 'lensTrip')}")
    page.evaluate("window.sdwidgetStats.lens = []; window.sdwidgetStats.lensTrip = []")
