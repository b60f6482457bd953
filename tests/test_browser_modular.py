"""An APG knob on a modular SDXL pipeline, driven in a browser through accessible names: the Knob
select offers the guider's knobs, a held run takes an eta from the slider at the next step, and the
run equals a fresh one planned with the curve the page made (``torch.equal`` in the kernel). The
Guider select swaps the guider between runs (its knobs join the Knob select) and, while a run is
held, is refused with the reason; an older run picked in the history keeps its interval's shading.

Screenshots: ``artifacts/modular-apg.png``, ``modular-guider-refused.png``, ``modular-older-interval.png``.
"""

import json

import pytest
from browser_fixtures import notebook
from test_browser import ARTIFACTS, Session, wait_until

pytest.importorskip("playwright.sync_api")

SETUP = """import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from diffusers.guiders import AdaptiveProjectedGuidance
from sdwidget import SamplerWidget
from sdwidget.testing import tiny_modular_sdxl_pipeline
apg = AdaptiveProjectedGuidance(guidance_scale=5.0, adaptive_projected_guidance_momentum=-0.5, eta=0.8)
widget = SamplerWidget(tiny_modular_sdxl_pipeline(apg), prompt="a red star", steps=8, guidance=5.0, pace=0,
                       height=64, width=64)
widget"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("modular.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def test_an_apg_eta_set_on_a_held_run_lands_at_the_next_step_exactly(jl):
    page = jl.page
    select = page.get_by_role("combobox", name="Knob")
    options = select.locator("option").all_text_contents()
    assert options[:3] == ["Guidance", "Eta", "Adaptive projected guidance momentum"], options
    assert {"Start", "Stop", "Guidance rescale"} <= set(options)
    select.select_option(label="Eta")
    slider = page.get_by_role("slider", name="Eta")
    assert slider.input_value() == "0.8", "the guider's own eta"
    jl.kernel("widget.breakpoints = [3]")
    jl.generate.click()
    jl.wait_status("step 3 / 8")
    slider.fill("0.2")
    wait_until(lambda: jl.kernel("widget.knob_values['eta']") == "0.2", what="the kernel to take eta 0.2")
    jl.widget.get_by_role("button", name="Resume").click()
    run = jl.kernel("widget.runner.run.id")
    jl.wait_status(f"#{run}: finished")
    curve = json.loads(jl.kernel("import json; json.dumps(widget.runner.run.knob_curves['eta'])").strip("'"))
    assert curve == [0.8] * 3 + [0.2] * 5
    same = jl.kernel(
        "import torch; r = widget.runner.run; f = widget.runner.generate('a red star', num_inference_steps=8, "
        "guidance_scale=5.0, seed=r.params['seed'], height=64, width=64, knob_schedules=r.knob_curves); "
        "torch.equal(f.latents, r.latents)"
    )
    assert same == "True", "the page's run is the planned one to the last bit"
    assert jl.kernel("widget.runner.run.params['guider']") == "'AdaptiveProjectedGuidance'"
    details = jl.widget.locator(".sdw-details").text_content()
    assert "AdaptiveProjectedGuidance · guidance 5.0 · eta 0.80" in details, details
    jl.widget.screenshot(path=str(ARTIFACTS / "modular-apg.png"))


def test_the_guider_select_swaps_between_runs_and_refuses_while_one_goes(jl):
    page = jl.page
    jl.show_current_run_alone()
    guider = page.get_by_role("combobox", name="Guider")
    labels = guider.locator("option").all_text_contents()
    assert labels == ["CFG", "APG", "PAG", "Skip-layer guidance", "CFG-Zero*"], labels
    assert guider.input_value() == "AdaptiveProjectedGuidance"
    guider.select_option(label="PAG")
    knob = page.get_by_role("combobox", name="Knob")
    wait_until(lambda: "Skip layer guidance scale" in knob.locator("option").all_text_contents(), what="PAG's knobs")
    assert "Eta" not in knob.locator("option").all_text_contents()
    # A swap while a run is held is refused with the reason; the select shows the kernel's guider again.
    jl.kernel("widget.breakpoints = [2]")
    jl.generate.click()
    jl.wait_status("step 2 / 8")
    run = jl.kernel("widget.runner.run.id")
    guider.select_option(label="CFG")
    jl.message.filter(has_text="Guider: the guider cannot be swapped").wait_for()
    text = jl.message.text_content()
    assert f"while run #{run} is paused: a run records one guider" in text and "PAG's, fixed when it started" in text
    wait_until(lambda: guider.input_value() == "PerturbedAttentionGuidance", what="the select back at PAG")
    jl.widget.screenshot(path=str(ARTIFACTS / "modular-guider-refused.png"))
    jl.widget.get_by_role("button", name="Resume").click()
    jl.wait_status(f"#{run}: finished")
    assert jl.kernel("widget.runner.run.params['guider']") == "'PerturbedAttentionGuidance'"
    assert "PerturbedAttentionGuidance · guidance 5.0" in jl.widget.locator(".sdw-details").text_content()
    # An older run picked in the history keeps its own interval: its chart shaded, its details say where.
    jl.kernel("widget.set_guidance_interval(2, 6)")
    jl.generate.click()
    jl.wait_status(f"#{int(run) + 1}: finished")
    jl.kernel("widget.set_guidance_interval(None, None)")
    jl.generate.click()
    jl.wait_status(f"#{int(run) + 2}: finished")
    page.get_by_role("combobox", name="Run").select_option(str(int(run) + 1))
    details = jl.widget.locator(".sdw-details")
    wait_until(lambda: "guidance 5.0 at steps 3–6" in details.text_content(), what="the older run's interval")
    assert jl.widget.locator(".sdw-plot rect.sdw-interval").count() == 1, "the older run's interval is shaded"
    jl.widget.screenshot(path=str(ARTIFACTS / "modular-older-interval.png"))
