"""The Guider select without a browser, driven by the message it sends: a modular pipeline's guider
swapped between runs, its knobs in the Knob list, the next run equal to the pipeline's own with
that guider; refused while a run goes, with the reason, and for a pipeline with no guider."""

import pytest
import torch
from diffusers.guiders import AdaptiveProjectedGuidance
from test_modular import GUIDERS, NEGATIVE, PROMPT, SEED, SIZE, STEPS, reference
from test_widget import Browser, wait_for

from sdwidget import RunStatus, SamplerWidget
from sdwidget.testing import tiny_modular_sdxl_pipeline

GENERATE = {"type": "generate", "prompt": PROMPT, "negative_prompt": NEGATIVE, "steps": STEPS, "seed": SEED,
            "guidance": 5.0}  # fmt: skip
LABELS = ["CFG", "APG", "PAG", "Skip-layer guidance", "CFG-Zero*"]


def modular_widget():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    return SamplerWidget(pipe, pace=0, guidance=5.0, steps=STEPS, height=SIZE, width=SIZE)


def test_the_guider_chosen_gives_its_knobs_and_the_next_run_is_the_pipelines_own_with_it():
    widget = modular_widget()
    browser = Browser(widget)
    assert [choice["label"] for choice in widget.guiders] == LABELS and widget.guider == "ClassifierFreeGuidance"
    browser.say({"type": "interval", "first": 2, "end": 6})  # the next run's interval: the guider's start and stop
    browser.say({"type": "guider", "name": "AdaptiveProjectedGuidance"})
    assert widget.message == "" and widget.guider == "AdaptiveProjectedGuidance"
    assert [knob["name"] for knob in widget.knobs][:3] == [
        "guidance_scale",
        "eta",
        "adaptive_projected_guidance_momentum",
    ]
    assert widget.knob_values["eta"] == 1.0 and widget.knob_values["start"] == 0.25, "shared knobs keep their values"
    assert widget.runner.pipe.guider.guidance_scale == 5.0, "built at the Guidance asked for"
    browser.say(GENERATE)
    run = widget.runner.run
    run.wait()
    assert run.status is RunStatus.FINISHED, run.traceback
    wait_for(lambda: widget.run_id == run.id and widget.status == "finished")
    assert run.params["guider"] == "AdaptiveProjectedGuidance" and widget.runs[-1]["guider"] == run.params["guider"]
    assert [step.cfg for step in run.steps] == [2 <= i < 6 for i in range(STEPS)]
    apg = AdaptiveProjectedGuidance(
        guidance_scale=5.0, adaptive_projected_guidance_momentum=-0.5, start=0.25, stop=0.75
    )
    assert torch.equal(run.latents, reference(tiny_modular_sdxl_pipeline(apg), {}))


def test_a_guider_chosen_while_a_run_goes_is_refused_with_the_reason():
    widget = modular_widget()
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [2]})
    browser.say(GENERATE)
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED)
    browser.say({"type": "guider", "name": "PerturbedAttentionGuidance"})
    assert widget.message.startswith(f"Guider: the guider cannot be swapped while run #{run.id} is paused: "), (
        widget.message
    )
    assert "its knobs are CFG's, fixed when it started, and PAG's differ" in widget.message
    assert widget.guider == "ClassifierFreeGuidance" and "skip_layer_guidance_scale" not in widget.knob_values
    browser.say({"type": "resume"})
    run.wait()
    assert run.status is RunStatus.FINISHED and widget.message == "", "the run went on; Resume cleared the refusal"
    browser.say({"type": "guider", "name": "PerturbedAttentionGuidance"})
    assert widget.message == "" and widget.guider == "PerturbedAttentionGuidance"
    assert "skip_layer_guidance_scale" in widget.knob_values


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (5, "Guider: a guider's name must be short text, got 5"),
        ("Magic", "Guider: no guider 'Magic' to swap to; sdwidget swaps to ClassifierFreeGuidance, "),
    ],
)
def test_a_bad_guider_is_refused_naming_the_select(name, words):
    widget = modular_widget()
    Browser(widget).say({"type": "guider", "name": name})
    assert widget.message.startswith(words), widget.message
    assert widget.guider == "ClassifierFreeGuidance"


def test_a_pipeline_with_no_guider_offers_none_and_refuses_a_swap(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    assert widget.guiders == [] and widget.guider == ""
    Browser(widget).say({"type": "guider", "name": "AdaptiveProjectedGuidance"})
    assert widget.message.startswith("Guider: StableDiffusionPipeline has no guider to swap"), widget.message
