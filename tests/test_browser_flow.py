"""Flux in the widget, end to end: JupyterLab on localhost, Debian's Chromium driven by Playwright.

A notebook shows two widgets: a tiny FLUX.1-dev-like pipeline (its guidance is the distilled
guidance embedding, with no classifier-free switch at 1.0) and a schnell-like one (guided by true
CFG, off at 1.0 and below). A person generates on the first, pauses, changes Guidance with the
keys, resumes and watches the frames paint; the curve of the dev-like model speaks of no CFG,
the schnell-like one's does. Screenshots in ``artifacts/``: ``flux-light.png``, ``flux-dark.png``,
``flux-360.png``. The server, kernel and browser are shared (``browsers``); the checks are ``browser_looks``'s.
"""

import json

import pytest
from browser_fixtures import notebook
from browser_looks import OVERFLOW, centred, dark, narrow
from test_browser import ARTIFACTS, KERNEL_EVAL, wait_until

pytest.importorskip("playwright.sync_api")

CELLS = [
    "from sdwidget import SamplerWidget\nfrom sdwidget.testing import tiny_flux_pipeline\n"
    "widget = SamplerWidget(tiny_flux_pipeline(), pace=4)\nwidget",
    "schnell = SamplerWidget(tiny_flux_pipeline(guidance_embeds=False), pace=4)\nschnell",
]


@pytest.fixture(scope="module")
def page(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("flux.ipynb", notebook(*CELLS)) as page:
        page.locator(".sdw").nth(1).get_by_role("button", name="Generate").wait_for(timeout=180_000)
        yield page


def kernel(page, code):
    return page.evaluate(KERNEL_EVAL, code)


def generate(page, widget, name, prompt, steps, seed):
    """Type a run into ``widget``'s form and press Generate; the run's id once it has started."""
    before = kernel(page, f"{name}.run_id")
    widget.get_by_role("textbox", name="Prompt", exact=True).fill(prompt)
    widget.get_by_role("spinbutton", name="Steps").fill(str(steps))
    widget.get_by_role("spinbutton", name="Seed").fill(str(seed))
    widget.get_by_role("button", name="Generate").click()
    return wait_until(lambda: (k := kernel(page, f"{name}.run_id")) != before and k, what="the run to start")


def status_has(widget, text, timeout=60_000):
    widget.get_by_role("status").filter(has_text=text).wait_for(timeout=timeout)


def scrub_to(widget, step):
    widget.get_by_role("slider", name="Step", exact=True).fill(str(step))
    widget.page.wait_for_function(
        "([el, s]) => el.dataset.shownStep === s", arg=[widget.element_handle(), str(step)], timeout=30_000
    )


def test_pause_change_guidance_by_keys_resume_and_watch_the_frames(page):
    widget = page.locator(".sdw").first
    preview = widget.get_by_alt_text("Live preview")
    guidance = widget.get_by_role("slider", name="Guidance", exact=True)
    start = float(guidance.input_value())
    assert start == 3.5, "FLUX.1-dev's own default guidance, not SD's 7.5"
    run = generate(page, widget, "widget", "a red circle on a black background", 16, 5)
    sources = set()
    for _ in range(600):
        if kernel(page, "len(widget.runner.run.steps)") not in ("0", "1", "2", "3"):
            break
        sources.add(preview.get_attribute("src"))
        page.wait_for_timeout(50)
    widget.get_by_role("button", name="Pause").click()
    status_has(widget, "paused")
    held = int(kernel(page, "len(widget.runner.run.steps)"))
    assert 4 <= held < 16, held
    status_has(widget, f"paused at step {held} / 16")

    guidance.focus()
    for _ in range(15):
        guidance.press("ArrowRight")
    changed = round(start + 1.5, 1)
    assert float(guidance.input_value()) == changed
    wait_until(lambda: kernel(page, "widget.guidance") == repr(changed), what="the kernel to take the guidance")
    assert kernel(page, "len(widget.runner.run.steps)") == str(held), "a paused run stays paused"
    widget.get_by_role("button", name="Resume").click()
    for _ in range(1200):  # a minute at most: a page that never reaches the final image fails below
        if widget.evaluate("el => el.dataset.shownStep") == "final":
            break
        sources.add(preview.get_attribute("src"))
        page.wait_for_timeout(50)
    status_has(widget, f"#{run}: finished · 16 steps")
    applied = json.loads(kernel(page, "import json; json.dumps(widget.runner.run.guidance)").strip("'"))
    assert applied == [start] * held + [changed] * (16 - held), (held, applied)
    assert len(sources) >= 6, f"the preview painted {len(sources)} different frames over 16 steps"
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")


def test_distilled_guidance_draws_no_cfg_switch(page):
    widget = page.locator(".sdw").first
    assert kernel(page, "widget.guidance_kind") == "'distilled'"
    assert widget.locator(".sdw-cfg-line").count() == 0, "no 1.0 line: Flux's distilled guidance has no switch"
    assert widget.locator(".sdw-cfg-label").is_hidden()
    negative = widget.get_by_role("textbox", name="Negative prompt")
    assert negative.get_attribute("placeholder") == "Not used by distilled guidance"
    scrub_to(widget, 3)
    readout = widget.locator(".sdw-readout").text_content()
    assert readout.startswith("Step 3: ") and "CFG" not in readout, readout
    plot = widget.locator(".sdw-plot").bounding_box()
    page.mouse.move(plot["x"] + plot["width"] - 2, plot["y"] + plot["height"] / 2)
    page.wait_for_function("(el) => el.textContent.startsWith('Step 16:')", arg=widget.locator(".sdw-readout")
                           .element_handle())  # fmt: skip
    assert "CFG" not in widget.locator(".sdw-readout").text_content()
    page.mouse.move(0, 0)
    assert widget.get_by_role("alert").text_content() == ""


def test_true_cfg_draws_the_switch_and_reads_on_and_off(page):
    widget = page.locator(".sdw").nth(1)
    widget.scroll_into_view_if_needed()
    assert kernel(page, "schnell.guidance_kind") == "'cfg'"
    assert widget.get_by_role("textbox", name="Negative prompt").get_attribute("placeholder") == ""
    kernel(page, "schnell.set_pace(0)")
    guidance = widget.get_by_role("slider", name="Guidance", exact=True)
    for value, word in (("3", "on"), ("1", "off")):
        guidance.fill(value)
        wait_until(lambda v=value: kernel(page, "schnell.guidance") == f"{v}.0", what="the kernel to take the guidance")
        run = generate(page, widget, "schnell", "a small yellow triangle", 6, 2)
        status_has(widget, f"#{run}: finished · 6 steps")
        assert kernel(page, "schnell.runner.run.guidance") == str([float(value)] * 6)
        assert widget.locator(".sdw-cfg-line").count() == 1
        assert widget.locator(".sdw-cfg-label").is_visible()
        assert widget.locator(".sdw-cfg-label").text_content() == "1.0 · CFG off below"
        scrub_to(widget, 2)
        assert widget.locator(".sdw-readout").text_content() == f"Step 2: {value}.0 (CFG {word})"


def test_flux_widget_reads_in_light_dark_and_a_narrow_window(page):
    widget = page.locator(".sdw").first
    page.set_viewport_size({"width": 1300, "height": 1800})  # the whole widget in one picture
    scrub_to(widget, 8)
    assert widget.evaluate(OVERFLOW) == []
    centred(widget)
    widget.screenshot(path=str(ARTIFACTS / "flux-light.png"))
    narrow(page, widget, ARTIFACTS / "flux-360.png")
    page.set_viewport_size({"width": 1300, "height": 1800})
    centred(widget)
    dark(page, widget, ARTIFACTS / "flux-dark.png")
    page.set_viewport_size({"width": 1300, "height": 1000})
