"""The guidance lens in a browser: drag → painted latency on a held run (``lens.py --browser``).

JupyterLab with Debian's Chromium (Playwright, the browser tests' shared helpers) shows the demo
widget held before step 7 of 12. The Guidance slider's arrow keys are pressed ``--moves`` times,
one at a time, then it is dragged at a pointer's pace: each preview's time from the slider's input
to the frame painted with its image (the page's ``sdwidgetStats.lens``). Two paths, the same page
and kernel back to back: first the kernel's round trip (the kernel keeps the step's affine part
to itself: each value is a ``lens`` request answered with the demo's preview decoder net's
picture, as before ``local_lens.js``), then the path the page takes where the kernel sent it
(``lens_local``): each value drawn in the page (A + g·B through the net's recipe) and put on the
preview's canvas, no request.
Goal: median ≤ 50 ms. Then, from each rest of the slider (no input for ``REST`` ms), to the run's
own preview painted, the VAE's decode (``sdwidgetStats.lensRest``). Printed beside: the kernel
path's trips (sent → answered, ``lensTrip``), the kernel's time answering a request (the lens,
its picture, the PNG and the send), and the page's time drawing one (``lensLocal``).
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
widget._answer = _timed
_local_on = False  # off: the page's own lens is never sent, every value goes the kernel's way
_request = widget._lens_request
def _routed(**request):
    if not _local_on:
        request.pop("local", None)
    return _request(**request)
widget._lens_request = _routed"""


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
            measure(page, args.moves, "the kernel's round trip")
            answered = page.evaluate(KERNEL_EVAL, "_answered")
            print(f"the kernel answering a lens request (all of them): {spread(eval(answered))}")
            page.evaluate(KERNEL_EVAL, "_local_on = True")
            slider = page.get_by_role("slider", name="Guidance", exact=True)
            slider.press("ArrowLeft")  # its request brings the step's affine part
            held = f"{page.evaluate(KERNEL_EVAL, 'widget.run_id')}|6"  # the run and step drawn in the page
            page.wait_for_function(f"document.querySelector('.sdw').dataset.lensLocal === '{held}'", timeout=30_000)
            page.evaluate("window.sdwidgetStats.lensLocal = []")
            measure(page, args.moves, "drawn in the page")
            print(f"the page drawing one picture (A + g·B, the recipe, its pixels): {stats(page, 'lensLocal')}")
            rests(page)
    finally:
        browsers.close()


def measure(page: Any, moves: int, path: str) -> None:
    """Arrow keys one at a time, then a drag at a pointer's pace, on the held run's Guidance slider."""
    page.evaluate("window.sdwidgetStats.lens = []; window.sdwidgetStats.lensTrip = []")
    slider = page.get_by_role("slider", name="Guidance", exact=True)
    slider.focus()
    for i in range(moves):
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"window.sdwidgetStats.lens.length > {i}", timeout=30_000)
    report(page, f"{path}, arrow key -> painted")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    for i in range(moves):
        page.mouse.move(box["x"] + box["width"] * (0.1 + 0.6 * i / moves), y)
        page.wait_for_timeout(16)  # a pointer's pace: about one move a frame
    page.mouse.up()
    page.wait_for_timeout(1500)
    report(page, f"{path}, drag -> painted (the newest value wins)")


def rests(page: Any) -> None:
    """A key, then the slider at rest until the run's own preview (the VAE's decode) is painted."""
    slider = page.get_by_role("slider", name="Guidance", exact=True)
    rested = page.evaluate("window.sdwidgetStats.lensRest.length")
    for i in range(RESTS):
        slider.press("ArrowRight")
        page.wait_for_function(f"window.sdwidgetStats.lensRest.length > {rested + i}", timeout=30_000)
    print(f"browser, at rest ({REST} ms after the last input) -> the VAE's decode painted: {stats(page, 'lensRest')}")
    print("goal: median <= 50 ms")


def stats(page: Any, name: str) -> str:
    return spread(page.evaluate(f"window.sdwidgetStats.{name}"))


def report(page: Any, what: str) -> None:
    trips = page.evaluate("window.sdwidgetStats.lensTrip.length")
    trip = f"; of which sent -> answered: {stats(page, 'lensTrip')}" if trips else "; no request"
    print(f"browser, {what}: {stats(page, 'lens')}{trip}")
    page.evaluate("window.sdwidgetStats.lens = []; window.sdwidgetStats.lensTrip = []")
