"""Issue 24, the widget as a person uses it, round 2: one browser test per fault 1–10, in JupyterLab
with Debian's Chromium driven by Playwright, each named after the fault it guards.

The notebook lives in the shared server's root (``browsers``), the kernel's working folder, so
Save gallery writes into ``galleries/`` there and the page can save it and reload. Screenshots in ``artifacts/``:
``round2-branch``, ``round2-prompt-edit``, ``round2-breakpoints``, ``round2-dark``, ``round2-360``,
``round2-reload-scrub``. The page's parts and checks are ``test_browser``'s.
"""

import json
import re

import pytest
from browser_fixtures import notebook, reopened
from browser_looks import dark, narrow
from test_browser import ARTIFACTS, Session, chart_point, wait_until

pytest.importorskip("playwright.sync_api")

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt="a red star on a blue background", steps=50, guidance=5.0,
                       gallery_dir="galleries")
widget"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("round2.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


@pytest.fixture(autouse=True)
def fresh(jl):
    """Each test starts with no run going, the current run shown alone, full speed, no holds."""
    jl.kernel("r = widget.runner.run\nif r is not None and not r.done: r.stop(); r.wait()")
    jl.kernel("widget.breakpoints = []; widget.set_pace(0)")
    jl.show_current_run_alone()
    jl.page.set_viewport_size({"width": 1300, "height": 1000})
    yield


def finished_run(jl, prompt="a red star on a blue background", steps=8, **kw):
    """A run started and finished from Python; its key, once the page shows it finished."""
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    key = jl.kernel(f"r = widget.generate({prompt!r}, num_inference_steps={steps}, pace=None, {args}); r.wait(); r.id")
    jl.wait_status(f"#{key}: finished")
    return key


def button(jl, name):
    return jl.widget.get_by_role("button", name=name, exact=True)


def disabled(locator):
    return locator.get_attribute("aria-disabled") == "true"


def test_fault2_branch_keeps_the_guidance_slider(jl):
    """Fault 2: the slider set to 1.5 before Branch from here stays at 1.5 (it jumped to the
    parent's first value, and one ArrowRight then sent 5.1)."""
    parent = finished_run(jl, steps=12, guidance_scale=5.0)
    jl.guidance.fill("1.5")
    wait_until(lambda: jl.kernel("widget.guidance") == "1.5", what="the kernel to take 1.5")
    jl.scrub.fill("10")
    jl.wait_data("shownStep", "10")
    button(jl, "Branch from here").click()
    child = wait_until(lambda: (k := jl.kernel("widget.run_id")) != parent and k, what="the branch to start")
    jl.wait_status(f"#{child}: finished", timeout=60_000)
    applied = json.loads(jl.kernel("import json; json.dumps(widget.runner.run.guidance)").strip("'"))
    assert applied[10:] == [1.5, 1.5], applied
    assert jl.guidance.input_value() == "1.5", "the slider shows what the branch runs at"
    jl.widget.screenshot(path=str(ARTIFACTS / "round2-branch.png"))
    jl.guidance.focus()
    jl.guidance.press("ArrowRight")
    assert jl.guidance.input_value() == "1.6"
    wait_until(lambda: jl.kernel("widget.guidance") == "1.6", what="the kernel to take 1.6")


def test_fault3_a_prompt_applied_mid_run_shows_in_details_and_lists(jl):
    """Fault 3: a prompt applied mid-run shows in the details and the Run and Compare lists, with
    the step it took effect from, while the run goes and once it has ended."""
    jl.kernel("widget.breakpoints = [3]")
    jl.prompt.fill("a red star on a blue background")
    jl.steps.fill("20")
    jl.generate.click()
    jl.wait_status("step 3 / 20")
    run = jl.kernel("widget.run_id")
    jl.prompt.fill("a red star on yellow")
    button(jl, "Apply prompt").click()
    button(jl, "Next step").click()
    jl.wait_status("step 4 / 20")
    edit = "→ “a red star on yellow” from step 4"
    jl.widget.locator(".sdw-details").filter(has_text=edit).wait_for(timeout=10_000)
    button(jl, "Resume").click()
    jl.wait_status(f"#{run}: finished", timeout=60_000)
    details = jl.widget.locator(".sdw-details").text_content()
    assert "“a red star on a blue background”" in details and edit in details, details
    for picker in ("Run", "Compare with"):
        labels = jl.page.get_by_role("combobox", name=picker).locator("option").all_text_contents()
        mine = [label for label in labels if label.startswith(f"#{run} ")]
        assert mine and "a red star on yellow" in mine[0], labels
    jl.widget.screenshot(path=str(ARTIFACTS / "round2-prompt-edit.png"))


def test_fault4_saved_gallery_belongs_to_its_run_and_says_where(jl):
    """Fault 4: "Saved gallery" shows under the run that was saved, with the folder it went to
    (galleries/…), and not under later runs."""
    saved = finished_run(jl, steps=6)
    button(jl, "Save gallery").click()
    jl.status.filter(has_text="Saved gallery").wait_for(timeout=30_000)
    text = jl.status.text_content()
    name = jl.kernel("widget.saved").strip("'")
    assert f"galleries/{name}" in text, text
    later = finished_run(jl, steps=6)
    jl.page.wait_for_timeout(300)
    assert "Saved gallery" not in jl.status.text_content(), f"#{later} was never saved"
    jl.page.get_by_role("combobox", name="Run").select_option(saved)
    jl.wait_data("shownRun", saved)
    jl.status.filter(has_text=f"galleries/{name}").wait_for(timeout=10_000)


def test_fault5_speed_reads_as_steps_per_second_happening(jl):
    """Fault 5: at Pace 4 steps/s the status reads about 4 steps/s, with the compute speed said in
    words as a second figure, and no unexplained it/s."""
    jl.page.get_by_role("combobox", name="Pace").select_option(label="4 steps/s")
    wait_until(lambda: jl.kernel("widget.pace") == "4.0", what="pace 4")
    jl.steps.fill("40")
    jl.generate.click()
    jl.wait_status("step 10 / 40", timeout=60_000)
    text = jl.status.text_content()
    assert "it/s" not in text, text
    figures = [float(f) for f in re.findall(r"(\d+(?:\.\d+)?) steps/s", text)]
    assert figures and 3.0 <= figures[0] <= 5.5, text
    assert len(figures) == 2 and figures[1] > figures[0] and "comput" in text, text
    button(jl, "Stop").click()
    jl.wait_status("stopped")


def test_fault6_breakpoints_explain_themselves_and_undo(jl):
    """Fault 6: Breakpoints and Apply prompt show their help; holds are listed as buttons that
    remove them (no 7 px target) and can be cleared at once; a hold is the next run's only, and
    the status says the run is held at its breakpoint."""
    page = jl.page
    toggle = button(jl, "Breakpoints")
    assert toggle.get_attribute("title"), "the Breakpoints button has no help text"
    jl.steps.fill("12")
    toggle.click()
    plot = jl.widget.locator(".sdw-plot").bounding_box()
    for step in (4, 8):
        page.mouse.click(*chart_point(plot, 12, step, 5))
        wait_until(lambda s=step: str(s) in jl.kernel("widget.breakpoints"), what=f"a hold at {step}")
    assert jl.kernel("widget.breakpoints") == "[4, 8]"
    remove = button(jl, "Remove hold at step 8")
    box = remove.bounding_box()
    assert box["width"] >= 20 and box["height"] >= 20, box
    remove.click()
    wait_until(lambda: jl.kernel("widget.breakpoints") == "[4]", what="the hold at 8 removed")
    jl.widget.screenshot(path=str(ARTIFACTS / "round2-breakpoints.png"))
    jl.generate.click()
    jl.wait_status("held at breakpoint 4", timeout=60_000)
    assert jl.kernel("widget.breakpoints") == "[]", "a hold is for the next run only"
    assert "Next run holds" not in jl.widget.locator(".sdw-breaklist").text_content()
    jl.prompt.fill("a green star")
    apply = button(jl, "Apply prompt")
    apply.wait_for()
    assert apply.get_attribute("title"), "the Apply prompt button has no help text"
    jl.widget.screenshot(path=str(ARTIFACTS / "round2-held.png"))
    button(jl, "Stop").click()
    jl.wait_status("stopped")
    jl.kernel("widget.breakpoints = [3, 5]")
    clear = button(jl, "Clear holds")
    clear.wait_for()
    clear.click()
    wait_until(lambda: jl.kernel("widget.breakpoints") == "[]", what="all holds cleared")
    toggle.click()  # Breakpoints mode off again


def test_fault7_a_dragged_plan_shows_its_tail(jl):
    """Fault 7: steps after the dragged stretch keep its last value, and the dashed line says so:
    it runs to the last step."""
    page = jl.page
    jl.kernel("widget.breakpoints = [5]")
    jl.steps.fill("12")
    jl.generate.click()
    jl.wait_status("step 5 / 12", timeout=60_000)
    plot = jl.widget.locator(".sdw-plot").bounding_box()
    page.mouse.move(*chart_point(plot, 12, 7, 9))
    page.mouse.down()
    page.mouse.move(*chart_point(plot, 12, 9, 9), steps=4)
    page.mouse.up()
    page.mouse.move(0, 0)
    line = jl.widget.locator(".sdw-plan-line")
    line.wait_for(state="attached")
    last_x = float(line.get_attribute("points").split()[-1].split(",")[0])
    assert last_x == pytest.approx(297, abs=0.5), "the dashed line stops before the last step"
    button(jl, "Resume").click()
    jl.wait_status("finished", timeout=60_000)
    applied = json.loads(jl.kernel("import json; json.dumps(widget.runner.run.guidance)").strip("'"))
    assert all(8.5 <= g <= 9.5 for g in applied[6:]), applied


def test_fault8_cfg_label_is_not_struck_through(jl):
    """Fault 8: the "1.0 · CFG off below" label sits clear of the plot, where no curve crosses it."""
    finished_run(jl, steps=10, guidance_schedule=[2.0] * 10)
    label = jl.widget.locator(".sdw-cfg-label")
    assert label.is_visible() and label.text_content() == "1.0 · CFG off below"
    a, b = label.bounding_box(), jl.widget.locator(".sdw-plot").bounding_box()
    overlap = min(a["x"] + a["width"], b["x"] + b["width"]) > max(a["x"], b["x"]) and min(
        a["y"] + a["height"], b["y"] + b["height"]
    ) > max(a["y"], b["y"])
    assert not overlap, (a, b)


@pytest.fixture(scope="module")
def sweep_folder(browsers):
    from sdwidget import Runner, demo_pipeline, sweep

    run = Runner(demo_pipeline()).generate("a red star on a blue background", num_inference_steps=4, seed=1)
    out = browsers.root / "captions-sweep"
    sweep(run, seeds="0:2", prompts=["a red star on a blue background"], out=out, model=demo_pipeline(), progress=False)
    return out


def test_fault9_sweep_captions_read_in_full(jl, sweep_folder):
    """Fault 9: each cell of a sweep's grid is captioned in full, in legible type."""
    jl.kernel(f"widget.add_sweep({str(sweep_folder)!r})")
    try:
        jl.page.wait_for_function("document.querySelector('.sdw-sweep-image')?.naturalWidth > 0", timeout=30_000)
        captions = jl.widget.locator(".sdw-sweep-cell").evaluate_all(
            """cells => cells.map((c) => { const t = c.querySelector('.sdw-sweep-caption');
                 if (!t) return null; const s = getComputedStyle(t);
                 return { text: t.innerText, size: parseFloat(s.fontSize),
                          cut: t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1,
                          visible: t.getClientRects().length > 0 }; })"""
        )
        assert len(captions) == 2 and all(captions), captions
        for c in captions:
            assert c["visible"] and not c["cut"] and c["size"] >= 11, c
            assert re.sub(r"\s+", " ", c["text"]).endswith("a red star on a blue background"), c
    finally:
        jl.kernel("widget._sweep = None; widget.sweep = {}")


PRESS = """async (name) => {
  // The button's label may trail the status line by a frame (Pause turns into Resume): wait for it.
  const find = () => [...document.querySelectorAll('.sdw button')].find((x) => x.textContent === name);
  let b = find();
  for (let i = 0; i < 250 && !b; i++) b = await new Promise((r) => setTimeout(() => r(find()), 20));
  const look = () => { const s = getComputedStyle(b); return [s.backgroundColor, s.cursor, s.boxShadow].join(); };
  const before = look();
  b.click();
  await new Promise((r) => requestAnimationFrame(() => r()));
  return { busy: b.getAttribute('aria-busy'), changed: look() !== before };
}"""


def test_fault10_actions_that_wait_for_the_kernel_show_pressed(jl):
    """Fault 10: Generate, Next step, Resume and Branch from here each show a visible response
    within one animation frame of the click, before the kernel answers."""
    jl.kernel("widget.breakpoints = [2]")
    jl.steps.fill("8")
    for name, then in (("Generate", "step 2 / 8"), ("Next step", "step 3 / 8"), ("Resume", "finished")):
        pressed = jl.page.evaluate(PRESS, name)
        assert pressed == {"busy": "true", "changed": True}, (name, pressed)
        jl.wait_status(then, timeout=60_000)
        if name != "Resume":  # held at its step: the status names the step a moment before the hold
            jl.widget.get_by_role("button", name="Resume").wait_for(timeout=60_000)
    assert jl.widget.locator("button[aria-busy=true]").count() == 0, "the pressed state ends with the answer"
    jl.scrub.fill("4")
    jl.wait_data("shownStep", "4")
    pressed = jl.page.evaluate(PRESS, "Branch from here")
    assert pressed == {"busy": "true", "changed": True}, pressed


def test_screenshots_dark_and_360(jl):
    """Screenshots of a run with a prompt edit and holds listed, in the dark theme and at 360 px;
    the widget keeps its contrast and fits."""
    page = jl.page
    jl.kernel("widget.breakpoints = [3, 9]")
    dark(page, jl.widget, ARTIFACTS / "round2-dark.png")
    narrow(page, jl.widget, ARTIFACTS / "round2-360.png")


def test_fault1_after_a_reload_branch_and_decode_are_offered(jl):
    """Fault 1: after a page reload (the saved notebook reopens on the live kernel), and for an
    older run picked in Run, Branch from here and Decode step are offered once the run's frames
    are shown, without any trait changing (they stayed greyed out, with wrong tooltips, until
    Run was switched back); scrubbing back shows the earlier steps."""
    page = jl.page
    older = finished_run(jl, steps=8)
    run = finished_run(jl, steps=10)
    reopened(page)
    jl.wait_data("shownRun", run)
    jl.wait_data("shownStep", "final")
    page.wait_for_timeout(500)
    for name in ("Branch from here", "Decode step"):
        b = button(jl, name)
        assert not disabled(b), f"{name} greyed out after a reload: {b.get_attribute('title')}"
    jl.scrub.fill("4")
    jl.wait_data("shownStep", "4")
    assert "step 4 / 10" in jl.widget.locator(".sdw-caption").first.text_content()
    jl.widget.screenshot(path=str(ARTIFACTS / "round2-reload-scrub.png"))
    # An older run, whose frames this page has not seen since the reload.
    page.get_by_role("combobox", name="Run").select_option(older)
    jl.wait_data("shownRun", older)
    jl.wait_data("shownStep", "final")
    page.wait_for_timeout(500)
    for name in ("Branch from here", "Decode step"):
        b = button(jl, name)
        assert not disabled(b), f"{name} greyed out for an older run: {b.get_attribute('title')}"
    jl.scrub.fill("3")
    jl.wait_data("shownStep", "3")
    button(jl, "Decode step").click()
    jl.wait_data("decoded", "3")
