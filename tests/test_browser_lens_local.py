"""The guidance lens drawn in the page (``js/src/local_lens.js``, ``widget/lens_local.py``): on the
demo widget held before step 5, the Guidance slider's first arrow key brings the step's affine
part and its quick picture's recipe; the next keys are drawn in the page with no ``lens`` request
(the kernel's handler counts them), and each picture painted equals the kernel's own quick
picture (``run.lens(step, g).quick``) within 2/255 on ≥ 99% of its pixels. At rest the page still
asks for the run's own preview (the VAE's decode). What if on a recorded step works the same,
below the off value too (the lens there is the step's at 1.0). Pictures drawn in the page are put
on the preview's canvas (no image decoded). The recipe comes once per preview state: not with a
run's next step, nor a next run's (the same net), again to a reloaded page (the kernel counts the
bytes it sends: 8 KiB a step, 201 KiB with the recipe). JupyterLab with Debian's Chromium
driven by Playwright (shared: ``browsers``).

Screenshots in ``artifacts/``: ``lens-local.png`` (the held step at the last key's value, drawn in
the page, captioned as a quick preview not applied yet); ``lens-local-light``, ``-dark`` (JupyterLab
Dark) and ``-360`` (a 360 px window): the same held picture on the canvas, with its badge, dashed
outline and caption, legible (contrast ≥ 4.5) and cut off nowhere.
"""

import json

import numpy as np
import pytest
from browser_fixtures import notebook, reopened
from browser_looks import dark, narrow
from test_browser import ARTIFACTS, Session
from test_browser_lens import SETUP, caption, held_at, slider

pytest.importorskip("playwright.sync_api")

# Counts the lens requests the kernel handles (quick: a moving slider's), whatever the page says.
# While ``_still`` is set, a request at rest goes unanswered: the page keeps its own picture on
# screen for the screenshot instead of the decode that would replace it 250 ms after the last key.
COUNTED = """_asked, _still = [], False
_handle = widget._lens_uncounted = getattr(widget, "_lens_uncounted", widget._lens_request)  # once: run again, no loop
def _counted(**request):
    _asked.append(request)
    if not (_still and not request.get("quick")):
        return _handle(**request)
widget._lens_request = _counted"""
# Each lens_local message the kernel sends: [step, whether it holds the recipe's ops, bytes of its buffers].
SENT = """_sent = []
_send = widget.send
def _counted_send(content, buffers=None, **kw):
    if content.get("type") == "lens_local":
        _sent.append([content["step"], "ops" in content, sum(len(b) for b in buffers or [])])
    return _send(content, buffers, **kw)
widget.send = _counted_send"""
# At each load of the main preview (its image, a kernel's picture, or the canvas over it, one drawn
# in the page): its caption and its pixels (RGB, row by row), read in the same task as the load,
# so each picture is paired with the caption painted with it.
WATCH = """() => {
  const img = document.querySelector('.sdw img[alt="Live preview"]');
  const cap = img.closest("figure").querySelector("figcaption");
  window._shots = [];
  for (const el of [img, img.parentElement.querySelector("canvas")]) {
    el.addEventListener("load", () => {
      const c = document.createElement("canvas");
      [c.width, c.height] = el === img ? [img.naturalWidth, img.naturalHeight] : [el.width, el.height];
      const g = c.getContext("2d");
      g.drawImage(el, 0, 0);
      const rgb = [...g.getImageData(0, 0, c.width, c.height).data].filter((_, i) => i % 4 !== 3);
      window._shots.push({ caption: cap.textContent, rgb, canvas: el !== img });
    });
  }
}"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("lens_local.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def kernel_json(jl, code):
    return json.loads(jl.kernel(f"import json; json.dumps({code})").strip("'"))


def same_as_the_kernels(jl, step, captions):
    """Each value's picture painted with its caption (``captions``: value → caption's end) equals
    the kernel's quick picture of the current run at ``step`` within 2/255 on ≥ 99% of its pixels."""
    shots, painted = jl.page.evaluate("window._shots"), {}
    for shot in shots:
        mine = {g: np.array(shot["rgb"]) for g, end in captions.items() if shot["caption"].endswith(end)}
        assert not mine or shot["canvas"], f"drawn on the canvas, no image decoded: {shot['caption']}"
        painted.update(mine)
    assert set(painted) == set(captions), [shot["caption"] for shot in shots]
    for g, ours in sorted(painted.items()):
        theirs = np.array(kernel_json(jl, f"widget.runner.run.lens({step}, {g}).quick.numpy().ravel().tolist()"))
        gap = np.abs(ours - theirs).reshape(-1, 3).max(axis=1)
        print(
            f"step {step + 1} at {g}: {(gap <= 2).mean():.2%} of {gap.size} pixels within 2/255, worst {gap.max()}/255"
        )
        assert (gap <= 2).mean() >= 0.99, (g, gap.max())


def test_arrow_keys_on_a_held_step_are_drawn_in_the_page_as_the_kernel_draws_them(jl):
    page = jl.page
    page.set_viewport_size({"width": 1300, "height": 1500})
    run = held_at(jl, 4)
    jl.kernel(COUNTED)
    slider(jl).focus()
    slider(jl).press("ArrowRight")  # the kernel answers 5.1 and sends the affine part with it
    jl.wait_data("lensLocal", f"{run}|4")
    first = kernel_json(jl, "_asked")
    assert [(r["guidance"], r.get("quick"), r.get("local")) for r in first][:1] == [(5.1, True, True)], first
    jl.kernel("_asked.clear()")
    page.evaluate(WATCH)
    drawn = page.evaluate("window.sdwidgetStats.lensLocal.length")
    values = []
    for key in ("ArrowRight", "ArrowRight", "ArrowLeft", "ArrowRight", "ArrowRight"):
        slider(jl).press(key)
        values.append(round(float(slider(jl).input_value()), 1))
    assert values == [5.2, 5.3, 5.2, 5.3, 5.4]
    caption(jl).filter(has_text="step 5 / 12 · preview at 5.4 — not applied yet · VAE decode").wait_for(timeout=30_000)
    assert page.evaluate("window.sdwidgetStats.lensLocal.length") - drawn >= 3, "drawn in the page"
    asked = kernel_json(jl, "_asked")
    assert [r for r in asked if r.get("quick")] == [], f"no lens request while the keys went: {asked}"
    assert asked and all(r["guidance"] in values for r in asked), "at rest: the run's own preview, asked"
    same_as_the_kernels(
        jl, 4, {g: f"step 5 / 12 · preview at {g:.1f} — not applied yet · quick preview" for g in values}
    )
    assert kernel_json(jl, "[len(widget.runner.run.steps), widget.status]") == [4, "paused"], "nothing applied"
    jl.kernel("_still = True")
    slider(jl).press("ArrowRight")  # 5.5, drawn in the page
    page.wait_for_function("window._shots.at(-1)?.caption.endsWith('preview at 5.5 — not applied yet · quick preview')")
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-local.png"))
    jl.kernel("_still = False")
    page.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")


def test_what_if_on_a_recorded_step_is_drawn_in_the_page_below_the_off_value_too(jl):
    page = jl.page
    page.get_by_role("button", name="What if").click()
    scrubber = page.get_by_role("slider", name="Step", exact=True)
    scrubber.fill("3")
    jl.wait_data("shownStep", "3")
    run = jl.kernel("widget.run_id")
    slider(jl).fill("2")  # asks the kernel, and for the step's affine part
    jl.wait_data("lensLocal", f"{run}|2")
    jl.kernel("_asked.clear()")
    page.evaluate(WATCH)
    slider(jl).focus()
    for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):
        slider(jl).press(key)
    slider(jl).fill("0.5")  # below the off value: the step's lens at 1.0
    slider(jl).fill("5")  # the value it ran with
    caption(jl).filter(has_text="step 3 / 12 · at 5.0 — as it ran · VAE decode").wait_for(timeout=30_000)
    asked = kernel_json(jl, "_asked")
    assert [r for r in asked if r.get("quick")] == [], f"no lens request while the slider moved: {asked}"
    what_if = "step 3 / 12 · what if {:.1f} — not applied (ran at 5.0) · quick preview"
    ends = {g: what_if.format(g) for g in (2.1, 1.9, 0.5)} | {5.0: "step 3 / 12 · at 5.0 — as it ran · quick preview"}
    same_as_the_kernels(jl, 2, ends)


def test_the_recipe_comes_once_per_preview_state_and_again_after_a_reload(jl):
    page = jl.page
    run = held_at(jl, 4)
    jl.kernel(SENT)

    def arrow_then_next(step, next_step=True):
        slider(jl).focus()
        slider(jl).press("ArrowRight")
        jl.wait_data("lensLocal", f"{run}|{step}")
        if next_step:
            page.get_by_role("button", name="Next step").click()
            jl.wait_data("shownStep", str(step + 1))

    arrow_then_next(4)  # the page holds the recipe from the tests before: the same net
    arrow_then_next(5, next_step=False)
    reopened(page)  # the new page holds no recipe: it gets it, once
    jl.wait_data("shownStep", "5")
    arrow_then_next(5)
    arrow_then_next(6, next_step=False)
    sent = kernel_json(jl, "_sent")
    print(f"lens_local per step: {sent}")
    assert [(step, ops) for step, ops, _ in sent] == [(4, False), (5, False), (5, True), (6, False)], sent
    alone, with_recipe = sent[0][2], sent[2][2]
    assert with_recipe > 100_000 and alone < 20_000 and {n for _, _, n in sent} == {alone, with_recipe}, sent
    page.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")


CANVAS = "document.querySelector('.sdw canvas.sdw-image')"


def test_the_page_drawn_lens_in_light_dark_and_360_px(jl):
    page = jl.page
    page.set_viewport_size({"width": 1300, "height": 1500})
    held_at(jl, 4)
    jl.kernel(COUNTED)
    jl.kernel("_still = True")  # the page's picture stays on screen: no decode at rest
    slider(jl).focus()
    slider(jl).press("ArrowRight")  # 5.1: the kernel's, with the affine part
    caption(jl).filter(has_text="preview at 5.1").wait_for(timeout=30_000)
    slider(jl).press("ArrowRight")  # 5.2: drawn in the page
    end = "step 5 / 12 · preview at 5.2 — not applied yet · quick preview"
    caption(jl).filter(has_text=end).wait_for(timeout=30_000)
    look = f"""() => {{ const c = {CANVAS}, box = c.parentElement, img = box.querySelector("img");
      const badge = [...box.querySelectorAll("span")].find((s) => s.textContent === "not applied");
      const [r, b] = [c.getBoundingClientRect(), img.getBoundingClientRect()];
      return {{ canvas: !c.hidden, same: [r.x, r.y, r.width, r.height].join() === [b.x, b.y, b.width, b.height].join(),
        outline: getComputedStyle(box).outlineStyle, badge: Boolean(badge && !badge.hidden),
        pixels: getComputedStyle(c).imageRendering }}; }}"""
    expected = {"canvas": True, "same": True, "outline": "dashed", "badge": True, "pixels": "pixelated"}
    assert page.evaluate(look) == expected
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-local-light.png"))

    def same_look() -> None:
        assert page.evaluate(look) == expected

    def same_look_narrow() -> None:
        assert page.evaluate(look) == expected, "shown at 2x or more: square pixels still"
        assert caption(jl).text_content().endswith(end)

    dark(page, jl.widget, ARTIFACTS / "lens-local-dark.png", same_look)
    narrow(page, jl.widget, ARTIFACTS / "lens-local-360.png", same_look_narrow)
    page.set_viewport_size({"width": 1300, "height": 1500})
    jl.kernel("_still = False")
    page.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")
    page.wait_for_function(f"{CANVAS}.hidden")  # the run's own frames again, on the image
    assert "final image" in caption(jl).text_content() or "step 12 / 12" in caption(jl).text_content()
