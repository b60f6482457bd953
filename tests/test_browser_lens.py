"""The guidance lens in a browser, through accessible names: on a held run the Guidance slider's
arrow keys and a drag show the step to come at the slider's value, captioned as not applied yet,
and Next step then shows that very image; What if shows a scrubbed step at the slider's value, the
three views show its halves, and Branch with this makes it real (checked against the kernel's
lens to 1e-6); where a step has no lens the page says why; a reload brings the mode, the held
preview and the effect trace back from the traits. JupyterLab with Debian's Chromium driven by
Playwright (shared: ``browsers``); the checks are ``test_browser``'s.

Screenshots in ``artifacts/``: ``lens-held``, ``lens-what-if``, ``lens-dark``, ``lens-360``;
the drag → painted latency in ``artifacts/lens-latency.json``.
"""

import json
import statistics

import pytest
from browser_fixtures import notebook, reopened
from browser_looks import dark, narrow
from test_browser import ARTIFACTS, Session, wait_until

expect = pytest.importorskip("playwright.sync_api").expect

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt="a red star on a blue background", steps=12, guidance=5.0, pace=0)
widget"""
# The main preview's pixels (RGB, row by row), as the page shows them.
PIXELS = """() => {
  const img = document.querySelector('.sdw img[alt="Live preview"]');
  const c = document.createElement("canvas");
  [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  return [...g.getImageData(0, 0, c.width, c.height).data].filter((_, i) => i % 4 !== 3);
}"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("lens.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def slider(jl):
    return jl.page.get_by_role("slider", name="Guidance", exact=True)


def scrubber(jl):
    return jl.page.get_by_role("slider", name="Step", exact=True)


def kernel_json(jl, code):
    return json.loads(jl.kernel(f"import json; json.dumps({code})").strip("'"))


def caption(jl):
    return jl.page.get_by_role("figure").filter(has=jl.preview).locator("figcaption")


def held_at(jl, step, guidance="5"):
    before = jl.kernel("widget.run_id")
    jl.kernel(f"widget.breakpoints = [{step}]")
    slider(jl).fill(guidance)
    jl.generate.click()
    run = wait_until(lambda: (k := jl.kernel("widget.run_id")) != before and k, what="the run")
    jl.wait_status(f"#{run}: paused")
    jl.wait_data("shownStep", str(step))
    return run


def test_the_held_slider_previews_the_step_to_come_and_next_step_applies_it(jl):
    page = jl.page
    page.set_viewport_size({"width": 1300, "height": 1500})  # the whole widget in the screenshots
    held_at(jl, 4)
    slider(jl).focus()
    for _ in range(3):
        slider(jl).press("ArrowRight")
    # Quick (the preview decoder net) while the keys go, the VAE's decode once the slider rests.
    caption(jl).filter(has_text="step 5 / 12 · preview at 5.3 — not applied yet · VAE decode").wait_for(timeout=30_000)
    assert jl.data("lens") == "held" and jl.data("shownStep") == "4", "the scrubber stays on the step run"
    assert kernel_json(jl, "[len(widget.runner.run.steps), widget.status]") == [4, "paused"], "nothing applied"
    shown = page.evaluate(PIXELS)
    assert shown == kernel_json(jl, "widget.runner.run.lens(4, 5.3).frame.numpy().ravel().tolist()")
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-held.png"))
    page.get_by_role("button", name="Next step").click()
    jl.wait_data("shownStep", "5")
    page.wait_for_function("document.querySelector('.sdw').dataset.lens === ''")
    assert kernel_json(jl, "widget.runner.run.steps[4].guidance") == 5.3
    assert page.evaluate(PIXELS) == shown, "Next step shows what the preview showed"
    # A drag while held: the preview follows, the newest value wins; the page times each paint.
    page.evaluate("window.sdwidgetStats.lens = []")
    box = slider(jl).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.26, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=25)
    page.mouse.up()
    value = float(slider(jl).input_value())
    caption(jl).filter(has_text=f"step 6 / 12 · preview at {value:.1f} — not applied yet").wait_for(timeout=30_000)
    latencies = page.evaluate("window.sdwidgetStats.lens")
    assert latencies, "the page timed the drag's previews"
    median, worst = statistics.median(latencies), max(latencies)
    (ARTIFACTS / "lens-latency.json").write_text(
        json.dumps({"median_ms": median, "max_ms": worst, "n": len(latencies)})
    )
    print(f"drag -> painted: median {median:.1f} ms, max {worst:.1f} ms over {len(latencies)} previews")
    assert median < 2000, latencies  # the goal, 50 ms, is benchmarks/lens.py's to measure (on an idle machine)
    page.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")


def test_what_if_three_views_and_branch_with_this(jl):
    page = jl.page
    parent = jl.kernel("widget.run_id")
    what_if = page.get_by_role("button", name="What if")
    what_if.click()
    expect(what_if).to_have_attribute("aria-pressed", "true", timeout=30_000)  # set once the kernel answers
    scrubber(jl).fill("3")
    jl.wait_data("shownStep", "3")
    slider(jl).fill("2")
    caption(jl).filter(has_text="step 3 / 12 · what if 2.0 — not applied (ran at 5.0) · VAE decode").wait_for(
        timeout=30_000
    )
    assert page.evaluate(PIXELS) == kernel_json(jl, "widget.runner.run.lens(2, 2.0).frame.numpy().ravel().tolist()")
    page.get_by_role("button", name="Three views").click()
    jl.wait_data("views", "3")
    views = page.get_by_role("group", name="Three views of the shown step")
    for name in ("Unconditional x0 estimate", "Conditional x0 estimate", "Guided x0 estimate"):
        assert views.get_by_role("img", name=name, exact=True).is_visible()
    assert views.locator("figcaption").all_text_contents() == ["unconditional", "conditional", "guided at 5.0"]
    effect = page.get_by_role("img", name="How much guidance changed the picture at each step", exact=False)
    assert effect.get_attribute("aria-label").startswith(
        f"How much guidance changed the picture at each step, #{parent}"
    )
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-what-if.png"))
    page.get_by_role("button", name="Branch with this").click()
    child = wait_until(lambda: (k := jl.kernel("widget.run_id")) != parent and k, what="the branch")
    jl.wait_status(f"#{child}: finished")
    assert kernel_json(jl, "widget.runner.run.guidance") == [5.0, 5.0] + [2.0] * 10
    gap = "(widget.runner.run.plan.keep.get(2) - widget.runner.history[-2].lens(2, 2.0).latents).abs().max().item()"
    assert kernel_json(jl, gap) <= 1e-6, "the branch made the What if real"


def test_a_step_with_no_lens_says_why_and_a_reload_brings_the_lens_back(jl):
    page = jl.page
    what_if = page.get_by_role("button", name="What if")
    if what_if.get_attribute("aria-pressed") == "true":
        what_if.click()
    run = held_at(jl, 3, guidance="1")
    slider(jl).focus()
    slider(jl).press("ArrowLeft")  # the step to come is computed now, with CFG off: one half
    caption(jl).filter(has_text="step 4 / 12 · preview at 0.9 — not applied yet").wait_for(timeout=30_000)
    slider(jl).press("ArrowRight")
    slider(jl).press("ArrowRight")
    why = "No preview: Step 4 runs with CFG off (one model pass): it has no preview above 1.0; 1.1 applies from step 5"
    jl.widget.get_by_text(why).wait_for(timeout=30_000)
    assert jl.data("lens") == "", "the step's own image, not a preview"
    jl.wait_data("views", "3")  # on since the test before
    reopened(page)
    jl.wait_data("shownRun", run)
    jl.widget.get_by_text(why).wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Three views").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="What if").get_attribute("aria-pressed") == "false"
    jl.wait_data("views", "3")
    page.get_by_role("button", name="Resume").click()
    jl.wait_status(f"#{run}: finished")
    guidance = kernel_json(jl, "widget.runner.run.guidance")
    # Step 4 ran one half at 1.0, or at 0.9 where the slider's 0.9 reached the run before the peek's
    # boundary did; 1.1 came while it was held after its model call: from step 5.
    assert guidance[:3] == [1.0] * 3 and guidance[3] in (0.9, 1.0) and guidance[4:] == [1.1] * 8, guidance
    effects = kernel_json(jl, f"[widget.effects['{run}']['values'], widget.runner.run.guidance_effect()]")
    assert effects[0] == effects[1] and effects[0][:4] == [0.0] * 4 and all(v > 0 for v in effects[0][4:])
    assert jl.widget.locator(".sdw-effect-plot rect").count() == 8, "one bar per step where guidance acted"
    scrubber(jl).fill("4")
    jl.widget.locator(".sdw-effect").get_by_text("step 4: 0 (CFG off)").wait_for(timeout=10_000)
    assert "not computed (CFG off)" in page.get_by_role("group", name="Three views of the shown step").text_content()


def test_screenshots_dark_and_360(jl):
    page = jl.page
    page.get_by_role("button", name="What if").click()
    scrubber(jl).fill("6")
    slider(jl).fill("7")
    caption(jl).filter(has_text="what if 7.0").filter(has_text="· VAE decode").wait_for(timeout=30_000)
    dark(page, jl.widget, ARTIFACTS / "lens-dark.png")
    narrow(page, jl.widget, ARTIFACTS / "lens-360.png")
