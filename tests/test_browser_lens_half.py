"""A step that ran with CFG off, in a browser, through accessible names, on the demo model: What
if there at a value above 1.0 says its unconditional half was never computed and what a preview
costs (one model call, then every value at that step free), with a Preview button, and calls no
model on a slider move; pressing it shows the step at the slider's value (the kernel's lens, pixel
for pixel) for one UNet call; another value at that step then shows with no press and no call.
JupyterLab with Debian's Chromium driven by Playwright (the shared ``browsers``). Screenshots:
``artifacts/lens-half-offer.png`` (the note and the button), ``artifacts/lens-half.png`` (paid for).
"""

import json

import pytest
from browser_fixtures import notebook
from test_browser import ARTIFACTS, Session
from test_browser_lens_paid import PIXELS

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
half_pipe = demo_pipeline()
half_computed = []  # the UNet's computations (its first layer runs once in each)
half_pipe.unet.conv_in.register_forward_pre_hook(lambda *_: half_computed.append(1))
half_widget = SamplerWidget(half_pipe, prompt="a red star on a blue background", steps=6, guidance=1.0, pace=0)
half_widget"""
NOTE = (
    "No preview: Step 3 ran with CFG off (one model pass): its unconditional half was never computed. Preview "
    "computes it: one model call, then every value at this step is free"
)

LENS = "half_widget.runner.run.lens(2, {}).frame.numpy().ravel().tolist()"  # the kernel's lens, as shown


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("lens_half.ipynb", notebook(SETUP), height=1200) as page:
        session = Session(page)
        session.generate.wait_for(timeout=120_000)
        yield session


def kernel_json(jl, code):
    return json.loads(jl.kernel(f"import json; json.dumps({code})").strip("'"))


def caption(jl):
    return jl.page.get_by_role("figure").filter(has=jl.preview).locator("figcaption")


def test_preview_computes_the_other_half_once_when_pressed(jl):
    page = jl.page
    jl.generate.click()
    jl.wait_status("finished")
    page.get_by_role("button", name="What if").click()
    jl.scrub.fill("3")
    jl.wait_data("shownStep", "3")
    jl.guidance.fill("6")
    note = page.get_by_text(NOTE, exact=True)
    note.wait_for(timeout=30_000)
    preview = page.get_by_role("button", name="Preview at 6.0 (one model call)", exact=True)
    preview.wait_for(timeout=30_000)
    ran = kernel_json(jl, "len(half_computed)")
    assert ran == 6, "the run's six one-half calls: a slider move made none"
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-half-offer.png"))
    preview.click()
    shown = caption(jl).filter(has_text="step 3 / 6 · what if 6.0 — not applied (ran at 1.0) · VAE decode")
    shown.wait_for(timeout=30_000)
    assert note.is_hidden() and preview.is_hidden()
    assert kernel_json(jl, "len(half_computed)") == ran + 1, "one UNet call for the step's other half"
    assert page.evaluate(PIXELS) == kernel_json(
        jl, "half_widget.runner.run.lens(2, 6.0).frame.numpy().ravel().tolist()"
    )
    jl.guidance.fill("3")  # any value at that step: no press, no call
    caption(jl).filter(has_text="step 3 / 6 · what if 3.0 — not applied (ran at 1.0) · VAE decode").wait_for(
        timeout=30_000
    )
    assert preview.is_hidden() and kernel_json(jl, "len(half_computed)") == ran + 1
    assert page.evaluate(PIXELS) == kernel_json(
        jl, "half_widget.runner.run.lens(2, 3.0).frame.numpy().ravel().tolist()"
    )
    page.get_by_role("button", name="Three views").click()
    jl.wait_data("views", "3")
    views = page.get_by_role("group", name="Three views of the shown step")
    assert views.get_by_role("img", name="Unconditional x0 estimate", exact=True).is_visible(), "paid for: shown"
    jl.widget.screenshot(path=str(ARTIFACTS / "lens-half.png"))
