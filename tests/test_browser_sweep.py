"""A sweep in the widget, end to end: JupyterLab on localhost, Debian's Chromium driven by Playwright.

A 3 seeds × 2 prompts sweep of the demo model is made here; a notebook adds it to a widget. The
grid shows with a button over each image; a click opens that item's record and replays it as the
current run, its frames painting in the preview, to the sweep's own image. A refusal from the
kernel names the control; the grid fits a 360 px window and reads in the dark theme. Screenshots
in ``artifacts/``: ``sweep.png`` (the replay finished), ``sweep-360.png``, ``sweep-dark.png``.
The server (its root the kernel's working folder), kernel and browser are shared (``browsers``);
the checks are ``browser_looks``'s.
"""

import pytest
from browser_fixtures import notebook, settled
from browser_looks import centred, dark, narrow
from test_browser import ARTIFACTS, KERNEL_EVAL, wait_until

from sdwidget import Runner, demo_pipeline, sweep

pytest.importorskip("playwright.sync_api")
PROMPTS = ["a red circle on a black background", "a small yellow triangle at the top left"]


SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), pace=4)  # slow enough to watch the replay's frames
widget.add_sweep({folder!r})
widget"""


@pytest.fixture(scope="module")
def page(browsers):
    """The page on a notebook that adds the sweep of a run whose guidance falls, made here in the
    kernel's working folder."""
    run = Runner(demo_pipeline()).generate(PROMPTS[0], num_inference_steps=12, seed=1,
                                            guidance_schedule=[7.0] * 4 + [3.0] * 4 + [1.0] * 4)  # fmt: skip
    folder = browsers.root / "steered-sweep"
    sweep(run, seeds="0:3", prompts=PROMPTS, out=folder, model=demo_pipeline(), progress=False)
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("sweep.ipynb", notebook(SETUP.format(folder=str(folder)))) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield page


def kernel(page, code):
    return page.evaluate(KERNEL_EVAL, code)


def replay(page, name):
    """Click the cell named ``name``; wait for its replay to be the run shown and to finish. The
    preview's images seen on the way, and the replay's run id."""
    before = kernel(page, "widget.runner.run and widget.runner.run.id")
    page.get_by_role("button", name=name).click()
    run = wait_until(lambda: (k := kernel(page, "widget.runner.run and widget.runner.run.id")) != before and k)
    page.wait_for_function(f"document.querySelector('.sdw').dataset.shownRun === '{run}'", timeout=30_000)
    preview, sources = page.get_by_alt_text("Live preview"), set()
    while page.locator(".sdw").evaluate("el => el.dataset.shownStep") != "final":
        sources.add(preview.get_attribute("src"))
        page.wait_for_timeout(50)
    page.get_by_role("status").filter(has_text=f"#{run}: finished").wait_for(timeout=30_000)
    return sources, run


def test_the_grid_shows_and_a_click_replays_the_item_with_frames(page):
    grid = page.get_by_role("img", name="Sweep grid of 6 images, captioned with seed and prompt")
    page.wait_for_function("document.querySelector('.sdw-sweep-image')?.naturalWidth > 0", timeout=30_000)
    cells = page.get_by_role("button", name="Replay item")
    assert cells.count() == 6 and "Sweep steered-sweep · 6 images" in page.locator(".sdw-sweep-title").text_content()
    box, first = grid.bounding_box(), cells.first.bounding_box()
    assert first["x"] == pytest.approx(box["x"], abs=1) and first["width"] == pytest.approx(box["width"] / 3, abs=1)

    sources, run = replay(page, "Replay item 4:")  # 12 steps at 4 a second: the preview changes as they come
    assert len(sources) >= 4, "the replay's frames paint live"
    assert page.get_by_role("button", name="Replay item 4:").get_attribute("aria-pressed") == "true"
    record = page.locator(".sdw-sweep-record").text_content()
    assert "Item 4 · seed 1 · finished · 12 steps · 64×64" in record and "guidance 7.0 → 1.0" in record, record
    assert "rendered in" in record and "on cpu" in record
    swept = "np.asarray(Image.open('steered-sweep/images/p001-s1.png').convert('RGB'))"
    same = kernel(page, f"import numpy as np; from PIL import Image; np.array_equal(widget.runner.run.image, {swept})")
    assert same == "True", "the replay ends on the sweep's image, pixel for pixel"
    assert kernel(page, "widget.runner.run.guidance") == str([7.0] * 4 + [3.0] * 4 + [1.0] * 4)
    page.set_viewport_size({"width": 1300, "height": 1800})  # the whole widget in one picture
    settled(page.locator(".sdw"))
    page.locator(".sdw").evaluate("el => el.scrollIntoView({ block: 'center' })")
    page.locator(".sdw").screenshot(path=str(ARTIFACTS / "sweep.png"))
    page.set_viewport_size({"width": 1300, "height": 1000})


def test_a_refusal_names_the_control_and_clears_on_the_next_click(page):
    kernel(page, "widget._on_message(widget, {'type': 'sweep_item', 'item': 99}, [])")
    alert = page.locator(".sdw").get_by_role("alert")
    alert.filter(has_text="Sweep item: this sweep has no item 99 (its items are 0 to 5)").wait_for(timeout=10_000)
    replay(page, "Replay item 0:")
    assert page.locator(".sdw").get_by_role("alert").text_content() == ""


def test_the_grid_fits_a_narrow_window_and_reads_in_the_dark_theme(page):
    widget = page.locator(".sdw")

    def grid_fits() -> None:
        grid = page.locator(".sdw-sweep-grid").bounding_box()
        assert grid["width"] <= widget.bounding_box()["width"] + 1 and grid["height"] > 0

    narrow(page, widget, ARTIFACTS / "sweep-360.png", grid_fits)
    page.set_viewport_size({"width": 1300, "height": 1800})
    centred(widget)
    dark(page, widget, ARTIFACTS / "sweep-dark.png")
    page.set_viewport_size({"width": 1300, "height": 1000})
