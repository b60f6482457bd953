"""The guidance interval in a browser: the two handles on the guidance chart, found by their
accessible names ("Guidance starts at step", "Guidance ends at step"), moved with the arrow keys
before a run and dragged with the mouse during one; the run records what the page asked for, the
chart shades the interval and says it in words, and a reload draws the handles from the traits.
JupyterLab with Debian's Chromium driven by Playwright (shared: ``browsers``); the checks are
``test_browser``'s.

Screenshots in the module's temporary folder (printed): ``interval-default``, ``interval-dark``,
``interval-360``.
"""

import json

import pytest
from browser_fixtures import notebook, reopened
from browser_looks import dark, narrow
from test_browser import Session, wait_until

expect = pytest.importorskip("playwright.sync_api").expect

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt="a red star on a blue background", steps=12, guidance=5.0, pace=0)
widget"""
STARTS, ENDS = "Guidance starts at step", "Guidance ends at step"


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("interval-shots")


@pytest.fixture(scope="module")
def jl(browsers):
    with browsers.page("interval.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def handle(jl, name):
    return jl.page.get_by_role("slider", name=name, exact=True)


def kernel_json(jl, code):
    return json.loads(jl.kernel(f"import json; json.dumps({code})").strip("'"))


def test_the_keys_move_the_handles_and_the_next_run_keeps_to_them(jl, shots):
    starts, ends = handle(jl, STARTS), handle(jl, ENDS)
    starts.wait_for(timeout=30_000)
    assert [starts.get_attribute("aria-valuenow"), ends.get_attribute("aria-valuenow")] == ["1", "12"]
    starts.focus()
    for _ in range(3):
        starts.press("ArrowRight")
    expect(starts).to_have_attribute("aria-valuetext", "step 4 of 12", timeout=30_000)  # after the third key
    ends.focus()
    ends.press("ArrowLeft")
    ends.press("ArrowLeft")
    wait_until(lambda: kernel_json(jl, "widget.guidance_interval") == [3, 10], what="the kernel to keep [3, 10]")
    assert ends.get_attribute("aria-valuemin") == "4" and starts.get_attribute("aria-valuemax") == "10"
    jl.generate.click()
    run = wait_until(lambda: jl.kernel("widget.run_id") != "0" and jl.kernel("widget.run_id"), what="the run")
    jl.wait_status(f"#{run}: finished")
    assert kernel_json(jl, "widget.runner.run.guidance") == [1.0] * 3 + [5.0] * 7 + [1.0] * 2
    label = jl.widget.locator(".sdw-plot").get_attribute("aria-label")
    assert label.endswith("guidance applies at steps 4 to 10"), label
    assert jl.widget.locator(".sdw-plot rect.sdw-interval").count() == 1, "the interval is shaded"
    jl.widget.screenshot(path=str(shots / "interval-default.png"))
    print("screenshot", shots / "interval-default.png")


def test_a_handle_dragged_mid_run_lands_at_the_next_step(jl):
    page = jl.page
    jl.kernel("widget.breakpoints = [4]")
    jl.generate.click()
    jl.wait_status("step 4 / 12")
    ends = handle(jl, ENDS)
    box, plot = ends.bounding_box(), jl.widget.locator(".sdw-plot").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] - 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    wait_until(lambda: kernel_json(jl, "widget.guidance_interval") == [3, 12], what="the kernel to take [3, 12]")
    assert ends.get_attribute("aria-valuenow") == "12" and jl.message.text_content() == ""
    jl.widget.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")
    assert kernel_json(jl, "widget.runner.run.guidance") == [1.0] * 3 + [5.0] * 9


def test_a_bad_interval_is_refused_by_name(jl):
    """Past the run's steps, as a hostile page would send it: refused naming the control."""
    jl.kernel("widget._on_message(widget, {'type': 'interval', 'first': 2, 'end': 0}, [])")
    jl.message.filter(has_text="Guidance interval: the end step must be between 3").wait_for(timeout=10_000)
    jl.kernel("widget.message = ''")


def test_after_a_reload_the_handles_come_from_the_traits(jl):
    page = jl.page
    reopened(page)
    starts, ends = handle(jl, STARTS), handle(jl, ENDS)
    starts.wait_for(timeout=30_000)
    assert [starts.get_attribute("aria-valuenow"), ends.get_attribute("aria-valuenow")] == ["4", "12"]


def test_screenshots_dark_and_360(jl, shots):
    page = jl.page
    dark(page, jl.widget, shots / "interval-dark.png")

    def handles_shown() -> None:
        assert handle(jl, STARTS).is_visible() and handle(jl, ENDS).is_visible()

    narrow(page, jl.widget, shots / "interval-360.png", handles_shown)
    print("screenshots", shots / "interval-dark.png", shots / "interval-360.png")
