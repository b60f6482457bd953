"""The paid guidance lens on a held run's next step in a browser, through accessible names, on a tiny
FLUX.1-dev (guidance a model input): moving the Guidance slider while the run is held makes no model
call and offers Preview, as on a past step; pressing it makes the step's own call (at the slider's
value, which the slider asked for already) and shows the step to come at that value, captioned "not
applied yet", pixel for pixel the kernel's lens; Next step applies it with no further call and shows
what the preview showed. JupyterLab with Debian's Chromium driven by Playwright (``browsers``).
Screenshot: ``artifacts/lens-paid-held.png``."""

import pytest
from browser_fixtures import notebook
from test_browser import ARTIFACTS, Session
from test_browser_lens_paid import NOTE, PIXELS, caption, kernel_json

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import Runner, SamplerWidget
from sdwidget.testing import tiny_flux_pipeline
held_pipe = tiny_flux_pipeline()
held_computed = []  # the transformer's computations (a module each runs once)
held_pipe.transformer.x_embedder.register_forward_pre_hook(lambda *_: held_computed.append(1))
held_widget = SamplerWidget(Runner(held_pipe), prompt="a red star on a blue background", steps=6, guidance=3.5, pace=0)
held_widget"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("lens_paid_held.ipynb", notebook(SETUP), height=1200) as page:
        session = Session(page)
        session.generate.wait_for(timeout=120_000)
        yield session


def test_held_step_is_offered_preview_and_next_step_applies_what_it_showed(jl):
    page = jl.page
    jl.kernel("held_widget.breakpoints = [2]")
    jl.generate.click()
    jl.wait_status("paused")
    jl.wait_data("shownStep", "2")
    jl.guidance.fill("7")
    note = page.get_by_text(NOTE, exact=True)
    note.wait_for(timeout=30_000)
    preview = page.get_by_role("button", name="Preview at 7.0 (one model call)", exact=True)
    preview.wait_for(timeout=30_000)
    assert kernel_json(jl, "[len(held_computed), len(held_widget.runner.run.steps)]") == [2, 2], "no call, no peek"
    preview.click()
    caption(jl).filter(has_text="step 3 / 6 · preview at 7.0 — not applied yet").wait_for(timeout=30_000)
    assert note.is_hidden() and preview.is_hidden() and jl.data("lens") == "held"
    assert kernel_json(jl, "len(held_computed)") == 3, "the step's own call, made at 7.0: its lens is that output"
    shown = page.evaluate(PIXELS)
    assert shown == kernel_json(jl, "held_widget.runner.run.lens(2, 7.0).frame.numpy().ravel().tolist()")
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-paid-held.png"))
    page.get_by_role("button", name="Next step").click()
    jl.wait_data("shownStep", "3")
    page.wait_for_function("document.querySelector('.sdw').dataset.lens === ''")
    assert kernel_json(jl, "[held_widget.runner.run.steps[2].guidance, len(held_computed)]") == [7.0, 3]
    assert page.evaluate(PIXELS) == shown, "Next step shows what the preview showed"
    page.get_by_role("button", name="Resume").click()
    jl.wait_status("finished")
    assert kernel_json(jl, "len(held_computed)") == 6, "one call a step: nothing paid twice"
