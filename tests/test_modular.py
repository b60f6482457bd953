"""Modular SDXL steered through its guider, against the modular pipeline itself.

The reference side is diffusers alone: the modular pipeline's own call, with a block written in
tests/modular_refs.py (``SetAt``) inserted into its denoise loop that sets the guider's attributes
(or the prompt tensors) at the start of given steps, as diffusers' blocks API allows. No sdwidget
code there.
"""

import modular_refs
import pytest
import torch
from conftest import at_step
from diffusers.guiders import (
    AdaptiveProjectedGuidance,
    ClassifierFreeGuidance,
    ClassifierFreeZeroStarGuidance,
    PerturbedAttentionGuidance,
    TangentialClassifierFreeGuidance,
)  # fmt: skip
from diffusers.hooks import LayerSkipConfig
from diffusers.modular_pipelines.stable_diffusion_xl.encoders import StableDiffusionXLTextEncoderStep
from modular_refs import EDIT, MOMENTUM, NEGATIVE, PROMPT, SEED, SIZE, SetAt, guidance, loops

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_modular_sdxl_pipeline

STEPS = 8
PAG_LAYER = LayerSkipConfig(indices=[0], fqn="mid_block.attentions.0.transformer_blocks", skip_attention=False,
                            skip_attention_scores=True, skip_ff=False)  # fmt: skip
GUIDERS = {
    "cfg": lambda: ClassifierFreeGuidance(guidance_scale=5.0),
    "apg": lambda: AdaptiveProjectedGuidance(guidance_scale=5.0, adaptive_projected_guidance_momentum=-0.5, eta=0.8),
    "pag": lambda: PerturbedAttentionGuidance(
        guidance_scale=5.0,
        perturbed_guidance_scale=2.0,
        perturbed_guidance_stop=1.0,
        perturbed_guidance_config=PAG_LAYER,
    ),  # fmt: skip
    "cfg-zero-star": lambda: ClassifierFreeZeroStarGuidance(guidance_scale=5.0, zero_init_steps=2),
}


def reference(pipe, changes, **kwargs):
    return modular_refs.reference(pipe, SetAt(changes), negative_prompt=NEGATIVE, num_inference_steps=STEPS, **kwargs)


def steered(pipe, changes=(), guidance=5.0, **kwargs):
    return modular_refs.steered(
        pipe, changes, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=guidance, **kwargs
    )


@pytest.mark.parametrize("guider", GUIDERS)
def test_at_constant_settings_a_steered_run_equals_the_pipelines_own(guider):
    pipe = tiny_modular_sdxl_pipeline(GUIDERS[guider]())
    _, run = steered(pipe, num_images_per_prompt=2)
    assert torch.equal(run.latents, reference(pipe, {}, num_images_per_prompt=2))
    assert run.params["guider"] == type(pipe.guider).__name__ and len(run.images) == 2


def knob(name, value):
    return lambda run: run.set_knob(name, value)


CASES = {
    # guider, start, hand changes (after step k: from step k+1), the reference's changes (at step k)
    "cfg-off-and-on": ("cfg", 5.0, [(1, guidance(1.0)), (4, guidance(6.0))],
                       {2: {"guidance_scale": 1.0}, 5: {"guidance_scale": 6.0}}),
    "cfg-starts-off": ("cfg", 1.0, [(2, guidance(4.0))], {0: {"guidance_scale": 1.0}, 3: {"guidance_scale": 4.0}}),
    "apg-momentum-and-eta": ("apg", 5.0, [(1, knob(MOMENTUM, 0.3)), (3, knob("eta", 0.0))],
                             {2: {MOMENTUM: 0.3}, 4: {"eta": 0.0}}),
    "pag-scale": ("pag", 5.0, [(2, knob("skip_layer_guidance_scale", 4.0)), (5, guidance(2.0))],
                  {3: {"skip_layer_guidance_scale": 4.0}, 6: {"guidance_scale": 2.0}}),
    "interval": ("cfg", 5.0, [(0, knob("start", 0.25)), (3, knob("stop", 0.75))],
                 {1: {"_start": 0.25}, 4: {"_stop": 0.75}}),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_knobs_changed_at_two_steps_equal_the_reference_loop(case):
    guider, start, changes, at = CASES[case]
    pipe = tiny_modular_sdxl_pipeline(GUIDERS[guider]())
    _, run = steered(pipe, changes, guidance=start)
    assert torch.equal(run.latents, reference(pipe, at)), (run.latents - reference(pipe, at)).abs().max()
    assert not torch.equal(run.latents, reference(pipe, {0: {"guidance_scale": start}})), "the changes changed it"
    if case == "cfg-off-and-on":
        assert [step.cfg for step in run.steps] == [True, True, False, False, False, True, True, True]
    if case == "interval":  # off before int(0.25 × 8) = 2 and from int(0.75 × 8) = 6 on
        assert [step.cfg for step in run.steps] == [True, False, True, True, True, True, False, False]
        assert run.knob_curves["start"] == [0.0] + [0.25] * 7 and run.knob_curves["stop"] == [1.0] * 4 + [0.75] * 4


def test_a_branch_of_an_apg_run_equals_a_fresh_run_with_the_combined_curves():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["apg"]())
    runner, parent = steered(pipe, [(1, knob("eta", 0.5))])
    runner._observers.clear()  # the branch is steered by its arguments alone
    child = runner.branch(parent, 4, **{MOMENTUM: 0.2}, guidance_scale=3.0)
    child.wait()
    assert child.status is RunStatus.FINISHED, child.traceback
    momentum = [-0.5] * 4 + [0.2] * 4
    assert child.knob_curves["eta"] == [1.0 * 0.8] * 2 + [0.5] * 6 and child.knob_curves[MOMENTUM] == momentum
    fresh = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE,
        guidance_schedule=[5.0] * 4 + [3.0] * 4, knob_schedules=child.knob_curves,
    )  # fmt: skip
    assert torch.equal(child.latents, fresh.latents)
    at = {2: {"eta": 0.5}, 4: {MOMENTUM: 0.2, "guidance_scale": 3.0}}
    assert torch.equal(child.latents, reference(pipe, at)), "the momentum buffer came back exactly"


def test_a_gallery_replays_a_modular_run_exactly(tmp_path):
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["apg"]())
    runner, run = steered(pipe, [(2, knob(MOMENTUM, 0.1)), (4, guidance(1.0))])
    runner._observers.clear()
    Gallery.from_run(run).save(tmp_path / "g")
    loaded = Gallery.load(tmp_path / "g")
    again = runner.replay(loaded)
    again.wait()
    assert again.knob_curves == run.knob_curves and again.guidance == run.guidance
    assert torch.equal(again.latents, run.latents)


def test_a_prompt_edit_mid_run_equals_the_reference():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    at_step(runner, 3, lambda run: runner.set_prompt(EDIT, "ugly"))
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    assert run.prompts == [{"step": 4, "prompt": EDIT, "negative_prompt": "ugly"}]
    embeds = StableDiffusionXLTextEncoderStep.encode_prompt(
        pipe, EDIT, device=torch.device("cpu"), prepare_unconditional_embeds=True, negative_prompt="ugly"
    )
    names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
    assert torch.equal(run.latents, reference(pipe, {4: dict(zip(names, embeds, strict=True))}))


def test_what_cannot_be_steered_is_refused_with_the_reason():
    with pytest.raises(
        TypeError, match="guider TangentialClassifierFreeGuidance has not been checked.*AdaptiveProjected"
    ):
        Runner(tiny_modular_sdxl_pipeline(TangentialClassifierFreeGuidance(guidance_scale=5.0)))
    runner = Runner(tiny_modular_sdxl_pipeline(GUIDERS["cfg-zero-star"]()))
    with pytest.raises(ValueError, match="zero_init_steps must be a whole number of steps, got 1.5"):
        runner.set_knob("zero_init_steps", 1.5)
    with pytest.raises(ValueError, match="knob 'eta'"):
        runner.set_knob("eta", 0.5)
    with pytest.raises(TypeError, match="'image' cannot be passed"):
        runner.start(PROMPT, image=torch.zeros(1, 3, SIZE, SIZE))


def test_a_stopped_modular_run_decodes_its_last_estimate():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe)
    at_step(runner, 2, lambda run: run.stop())
    run = runner.generate(PROMPT, num_inference_steps=STEPS, height=SIZE, width=SIZE, seed=SEED)
    assert run.status is RunStatus.STOPPED and len(run.steps) == 3
    assert run.image is not None and run.image.size == (SIZE, SIZE)
    assert "sdwidget_step" not in str(list(loops(pipe._blocks))[0].sub_blocks), "the blocks are put back"
    assert pipe.guider.guidance_scale == 5.0, "the guider is the user's again"
