"""The widget's knobs in a browser: the Knob select beside Guidance picks which knob the slider, its
arrow keys and the curve edit act on (SD's demo model has two: the guidance and guidance_rescale),
the run records what the page asked for (``Run.knob_curves``), the chart draws every knob, and a
reload or an older run picked in Run recomputes it all from the traits. JupyterLab with Debian's
Chromium driven by Playwright (shared: ``browsers``); the checks are ``test_browser``'s.

Screenshots in ``artifacts/``: ``knobs-default``, ``knobs-dark``, ``knobs-360``.
"""

import json

import pytest
from browser_fixtures import notebook, reopened
from browser_looks import dark, narrow
from test_browser import ARTIFACTS, Session, wait_until

pytest.importorskip("playwright.sync_api")

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt="a red star on a blue background", steps=12, guidance=5.0, pace=0)
widget"""
NAME = "guidance_rescale"


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("knobs.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def knob_select(jl):
    return jl.page.get_by_role("combobox", name="Knob")


def curves(jl):
    return json.loads(jl.kernel("import json; json.dumps(widget.runner.run.knob_curves)").strip("'"))


def plot_point(plot, steps, step, value, top=1.0):
    """The page point of (step, value) on the chart of a ``steps``-step run, for an axis from 0 to ``top``."""
    x = plot["x"] + plot["width"] * (3 + (step - 1) / (steps - 1) * 294) / 300
    return x, plot["y"] + plot["height"] * (57 - value / top * 54) / 60


def test_the_knob_select_retargets_the_slider_and_the_run_records_it(jl):
    page = jl.page
    select = knob_select(jl)
    assert select.is_visible() and select.locator("option").all_text_contents() == ["Guidance", "Guidance rescale"]
    assert jl.guidance.get_attribute("aria-label") == "Guidance" and jl.guidance.get_attribute("max") == "20"
    select.select_option(label="Guidance rescale")
    slider = page.get_by_role("slider", name="Guidance rescale")
    assert [slider.get_attribute(name) for name in ("min", "max", "step")] == ["0", "1", "0.01"]
    assert slider.get_attribute("title").startswith("Guidance rescale: the share") and slider.input_value() == "0"
    assert jl.widget.locator(".sdw-curve-head").text_content().startswith("Guidance rescale per step")
    jl.kernel("widget.breakpoints = [3]")
    jl.generate.click()
    jl.wait_status("step 3 / 12")
    run = jl.kernel("widget.run_id")
    slider.fill("0.7")
    wait_until(lambda: jl.kernel("widget.knob_values") == "{'guidance_rescale': 0.7}", what="the kernel to take 0.7")
    slider.focus()
    slider.press("ArrowRight")  # the arrow keys step the selected knob, by its own step
    assert slider.input_value() == "0.71"
    wait_until(lambda: jl.kernel("widget.knob_values") == "{'guidance_rescale': 0.71}", what="the kernel to take 0.71")
    assert jl.kernel("widget.guidance") == "5.0", "the guidance was left alone"
    # Dragging the rescale curve over steps 6 to 8 plans them; the kernel holds 0.3 after.
    plot = jl.widget.locator(".sdw-plot").bounding_box()
    page.mouse.move(*plot_point(plot, 12, 6, 0.3))
    page.mouse.down()
    page.mouse.move(*plot_point(plot, 12, 8, 0.3), steps=6)
    page.mouse.up()
    page.wait_for_timeout(300)
    assert jl.message.text_content() == ""
    jl.widget.get_by_role("button", name="Resume").click()
    jl.wait_status(f"#{run}: finished")
    assert curves(jl) == {NAME: [0.0] * 3 + [0.71] * 2 + [0.3] * 7}
    assert json.loads(jl.kernel("import json; json.dumps(widget.runner.run.guidance)").strip("'")) == [5.0] * 12
    assert "guidance rescale 0.00 → 0.30" in jl.widget.locator(".sdw-details").text_content()
    label = jl.widget.locator(".sdw-plot").get_attribute("aria-label")
    said = f"Guidance rescale per step of #{run}: 0.00 at step 1, 0.30 at step 12; Guidance 5.0"
    assert label.startswith(said), label
    assert jl.widget.locator(".sdw-knob-line").count() == 1, "the guidance drawn thin beneath"
    assert "Guidance 0–10" in jl.widget.locator(".sdw-knob-legend").text_content()
    jl.widget.screenshot(path=str(ARTIFACTS / "knobs-default.png"))


def test_a_bad_knob_value_is_refused_by_name(jl):
    """A value out of the knob's range, as a hostile page would send it, is refused naming the knob."""
    jl.kernel(f"widget._on_message(widget, {{'type': 'knob', 'name': {NAME!r}, 'value': 3}}, [])")
    jl.message.filter(has_text="Guidance rescale must be between 0 and 1, got 3").wait_for(timeout=10_000)
    jl.kernel("widget.message = ''")


def test_after_a_reload_and_for_an_older_run_the_knobs_come_from_the_traits(jl):
    page = jl.page
    first = jl.kernel("widget.runner.run.id")
    later = jl.kernel(
        "r = widget.generate('a red star on a blue background', num_inference_steps=6, pace=None, "
        f"knob_schedules={{{NAME!r}: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}}); r.wait(); r.id"
    )
    jl.wait_status(f"#{later}: finished")
    reopened(page)
    jl.wait_data("shownRun", later)
    select = knob_select(jl)
    assert select.input_value() == "guidance_scale", "a reloaded page starts on the guidance"
    select.select_option(label="Guidance rescale")
    slider = page.get_by_role("slider", name="Guidance rescale")
    assert slider.input_value() == "0.1", "the run's own first value, as the kernel asks it"
    assert jl.generate.get_attribute("aria-disabled") == "false", "nothing greyed out after a reload"
    label = jl.widget.locator(".sdw-plot").get_attribute("aria-label")
    assert label.startswith(f"Guidance rescale per step of #{later}: 0.10 at step 1, 0.60 at step 6"), label
    page.get_by_role("combobox", name="Run").select_option(first)
    jl.wait_data("shownRun", first)
    page.wait_for_timeout(300)
    label = jl.widget.locator(".sdw-plot").get_attribute("aria-label")
    assert label.startswith(f"Guidance rescale per step of #{first}: 0.00 at step 1, 0.30 at step 12"), label
    assert "guidance rescale 0.00 → 0.30" in jl.widget.locator(".sdw-details").text_content()
    # Branch from step 4 of the older run: the slider's 0.1 carries on, as the guidance's value does.
    jl.scrub.fill("4")
    jl.wait_data("shownStep", "4")
    jl.widget.get_by_role("button", name="Branch from here", exact=True).click()
    child = wait_until(lambda: (k := jl.kernel("widget.run_id")) not in (first, later) and k, what="the branch")
    jl.wait_status(f"#{child}: finished")
    assert curves(jl) == {NAME: [0.0] * 3 + [0.71] + [0.1] * 8}
    page.get_by_role("combobox", name="Run").select_option("0")


def test_screenshots_dark_and_360(jl):
    page = jl.page
    dark(page, jl.widget, ARTIFACTS / "knobs-dark.png")
    narrow(page, jl.widget, ARTIFACTS / "knobs-360.png")
