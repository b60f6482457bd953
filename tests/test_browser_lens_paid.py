"""The paid guidance lens in a browser, through accessible names, on a tiny FLUX.1-dev (guidance
a model input): What if on a scrubbed step says the preview costs a model call and shows a Preview
button instead of calling the model on a slider move; pressing it shows the step at the slider's
value (the kernel's lens, pixel for pixel) for one transformer call; moving away and back shows that
value again with no press and no call. JupyterLab with Debian's Chromium driven by Playwright; the
server, kernel and Chromium are the shared ones (``browsers``). Screenshot: ``artifacts/lens-paid.png``.
"""

import json

import pytest
from browser_fixtures import notebook
from test_browser import ARTIFACTS, Session

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import Runner, SamplerWidget
from sdwidget.testing import tiny_flux_pipeline
paid_pipe = tiny_flux_pipeline()
paid_computed = []  # the transformer's computations (a module each runs once)
paid_pipe.transformer.x_embedder.register_forward_pre_hook(lambda *_: paid_computed.append(1))
paid_widget = SamplerWidget(Runner(paid_pipe), prompt="a red star on a blue background", steps=6, guidance=3.5, pace=0)
paid_widget"""
NOTE = (
    "No preview: no free guidance lens: guidance_scale is an input the model was trained with, not a weight of "
    "two halves; a preview costs one model call per value (Preview)"
)
# The main preview's pixels (RGB, row by row), as the page shows them.
PIXELS = """() => {
  const img = document.querySelector('.sdw img[alt="Live preview"]');
  const c = document.createElement("canvas");
  [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  return [...g.getImageData(0, 0, c.width, c.height).data].filter((_, i) => i % 4 !== 3);
}"""
SHOWN = "paid_widget.runner.run.lens(2, 7.0).frame.numpy().ravel().tolist()"


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("lens_paid.ipynb", notebook(SETUP), height=1200) as page:
        session = Session(page)
        session.generate.wait_for(timeout=120_000)
        yield session


def kernel_json(jl, code):
    return json.loads(jl.kernel(f"import json; json.dumps({code})").strip("'"))


def caption(jl):
    return jl.page.get_by_role("figure").filter(has=jl.preview).locator("figcaption")


def test_preview_pays_one_model_call_when_pressed_and_never_on_a_slider_move(jl):
    page = jl.page
    jl.generate.click()
    jl.wait_status("finished")
    page.get_by_role("button", name="What if").click()
    jl.scrub.fill("3")
    jl.wait_data("shownStep", "3")
    jl.guidance.fill("7")
    note = page.get_by_text(NOTE, exact=True)
    note.wait_for(timeout=30_000)
    preview = page.get_by_role("button", name="Preview at 7.0 (one model call)", exact=True)
    preview.wait_for(timeout=30_000)
    ran = kernel_json(jl, "len(paid_computed)")
    assert ran == 6, "the run's six calls: a slider move made none"
    preview.click()
    caption(jl).filter(has_text="step 3 / 6 · what if 7.0 — not applied (ran at 3.5)").wait_for(timeout=30_000)
    assert note.is_hidden() and preview.is_hidden()
    assert kernel_json(jl, "len(paid_computed)") == ran + 1, "one transformer call for the value"
    shown = page.evaluate(PIXELS)
    assert shown == kernel_json(jl, SHOWN)
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-paid.png"))
    jl.guidance.fill("5")
    page.get_by_role("button", name="Preview at 5.0 (one model call)", exact=True).wait_for(timeout=30_000)
    jl.guidance.fill("7")  # paid for already: shown with no press
    caption(jl).filter(has_text="step 3 / 6 · what if 7.0 — not applied (ran at 3.5)").wait_for(timeout=30_000)
    assert page.evaluate(PIXELS) == shown and kernel_json(jl, "len(paid_computed)") == ran + 1
