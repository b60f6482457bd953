"""Modular SD3 (``StableDiffusion3ModularPipeline``) steered through its guider, against the
modular pipeline itself.

The reference side is diffusers alone: the modular pipeline's own call (tests/modular_refs.py),
with a block written there (``SetAt``) inserted first in its denoise loop that sets the guider's
attributes (or the prompt tensors) at the start of given steps. No sdwidget code there.
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
    SkipLayerGuidance,
)  # fmt: skip
from diffusers.hooks import LayerSkipConfig
from diffusers.modular_pipelines.stable_diffusion_3.encoders import encode_prompt
from modular_refs import EDIT, NEGATIVE, PROMPT, SEED, SIZE, SetAt, guidance

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing.modular import tiny_modular_sd3_pipeline

STEPS = 6
GUIDERS = {
    "cfg": lambda: ClassifierFreeGuidance(guidance_scale=5.0),
    "apg": lambda: AdaptiveProjectedGuidance(guidance_scale=5.0, adaptive_projected_guidance_momentum=-0.5, eta=0.8),
    "cfg-zero-star": lambda: ClassifierFreeZeroStarGuidance(guidance_scale=5.0, zero_init_steps=1),
}


def reference(pipe, changes, negative=NEGATIVE, **kwargs):
    return modular_refs.reference(pipe, SetAt(changes), negative_prompt=negative, num_inference_steps=STEPS, **kwargs)


def steered(pipe, changes=(), guidance=5.0, negative=NEGATIVE, **kwargs):
    return modular_refs.steered(
        pipe, changes, negative_prompt=negative, num_inference_steps=STEPS, guidance_scale=guidance, **kwargs
    )


@pytest.mark.parametrize("guider", GUIDERS)
def test_at_constant_settings_a_steered_run_equals_the_pipelines_own(guider):
    pipe = tiny_modular_sd3_pipeline(GUIDERS[guider]())
    _, run = steered(pipe, num_images_per_prompt=2)
    expected = reference(pipe, {}, num_images_per_prompt=2)
    assert torch.equal(run.latents, expected), (run.latents - expected).abs().max()
    assert run.params["guider"] == type(pipe.guider).__name__ and len(run.images) == 2
    assert not torch.equal(run.latents, reference(pipe, {0: {"guidance_scale": 2.0}}, num_images_per_prompt=2))


def test_without_a_negative_prompt_the_run_guides_against_the_empty_one():
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    _, run = steered(pipe, negative=None)
    assert torch.equal(run.latents, reference(pipe, {}, negative=""))
    # The blocks' own run without one guides the prompt against itself: the scale changes nothing.
    assert not torch.equal(run.latents, reference(pipe, {}, negative=None))


CASES = {
    # start, hand changes (after step k: from step k+1), the reference's changes (at step k), CFG per step
    "off-and-on": (5.0, [(1, guidance(1.0)), (3, guidance(6.0))], {2: {"guidance_scale": 1.0},
                   4: {"guidance_scale": 6.0}}, [True, True, False, False, True, True]),
    "starts-off": (1.0, [(2, guidance(4.0)), (4, guidance(0.5))], {0: {"guidance_scale": 1.0},
                   3: {"guidance_scale": 4.0}, 5: {"guidance_scale": 0.5}}, [False] * 3 + [True] * 3),
    "rescale": (5.0, [(1, lambda run: run.set_knob("guidance_rescale", 0.7)), (3, guidance(2.0))],
                {2: {"guidance_rescale": 0.7}, 4: {"guidance_scale": 2.0}}, [True] * 6),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_guidance_changed_at_two_steps_equals_the_reference_loop(case):
    start, changes, at, cfg = CASES[case]
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    _, run = steered(pipe, changes, guidance=start)
    expected = reference(pipe, at)
    assert torch.equal(run.latents, expected), (run.latents - expected).abs().max()
    assert not torch.equal(run.latents, reference(pipe, {0: {"guidance_scale": start}})), "the changes changed it"
    assert [step.cfg for step in run.steps] == cfg


def test_a_guidance_interval_is_the_guiders_start_and_stop():
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    runner, run = steered(pipe, guidance_interval=(2, 5))
    assert [step.cfg for step in run.steps] == [False, False, True, True, True, False]
    assert torch.equal(run.latents, reference(pipe, {0: {"_start": 2 / 6, "_stop": 5 / 6}}))
    assert not torch.equal(run.latents, reference(pipe, {}))
    # Moved mid-run: from the next step, as the guider's own start and stop.
    at_step(runner, 2, lambda run: runner.set_guidance_interval(1, 3))
    moved = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0,
                            seed=SEED, height=SIZE, width=SIZE, guidance_interval=(2, 5))  # fmt: skip
    assert [step.cfg for step in moved.steps] == [False, False, True, False, False, False]
    at = {0: {"_start": 2 / 6, "_stop": 5 / 6}, 3: {"_start": 1 / 6, "_stop": 3 / 6}}
    assert torch.equal(moved.latents, reference(pipe, at))


def test_a_branch_and_a_gallery_replay_are_exact(tmp_path):
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    runner, parent = steered(pipe, [(1, guidance(1.0))])
    runner._observers.clear()  # the branch is steered by its arguments alone
    child = runner.branch(parent, 3, guidance_scale=7.0)
    child.wait()
    assert child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0, 5.0, 1.0, 7.0, 7.0, 7.0]
    expected = reference(pipe, {2: {"guidance_scale": 1.0}, 3: {"guidance_scale": 7.0}})
    assert torch.equal(child.latents, expected) and not torch.equal(child.latents, parent.latents)
    Gallery.from_run(child).save(tmp_path / "g")
    again = runner.replay(Gallery.load(tmp_path / "g"))
    again.wait()
    assert again.guidance == child.guidance and torch.equal(again.latents, child.latents)


def test_a_prompt_edit_mid_run_equals_the_reference():
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    at_step(runner, 2, lambda run: runner.set_prompt(EDIT, "ugly"))
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    embeds = encode_prompt(pipe, EDIT, device=torch.device("cpu"), negative_prompt="ugly")
    names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
    expected = reference(pipe, {3: dict(zip(names, embeds, strict=True))})
    assert torch.equal(run.latents, expected) and not torch.equal(run.latents, reference(pipe, {}))


def test_a_stopped_run_decodes_and_what_cannot_be_steered_is_refused():
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe)
    at_step(runner, 1, lambda run: run.stop())
    run = runner.generate(PROMPT, num_inference_steps=STEPS, height=SIZE, width=SIZE, seed=SEED)
    assert run.status is RunStatus.STOPPED and run.image.size == (SIZE, SIZE)
    assert pipe.guider.guidance_scale == 5.0, "the guider is the user's again"
    with pytest.raises(TypeError, match="'image' cannot be passed"):
        runner.start(PROMPT, image=torch.zeros(1, 3, SIZE, SIZE))


def test_pag_and_skip_layer_guidance_are_refused_with_the_reason_and_apg_swaps_in():
    pipe = tiny_modular_sd3_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    assert list(runner.family.guider_choices()) == [
        "ClassifierFreeGuidance", "AdaptiveProjectedGuidance", "ClassifierFreeZeroStarGuidance",
    ]  # fmt: skip
    for name in ("PerturbedAttentionGuidance", "SkipLayerGuidance"):
        with pytest.raises(ValueError, match=f"{name} fails on SD3's transformer in diffusers 0.42"):
            runner.set_guider(name)
    layers = LayerSkipConfig([1], fqn="auto")
    with pytest.raises(TypeError, match="SkipLayerGuidance fails on SD3.*text tokens"):
        Runner(tiny_modular_sd3_pipeline(SkipLayerGuidance(guidance_scale=5.0, skip_layer_config=layers)))
    with pytest.raises(TypeError, match="PerturbedAttentionGuidance fails on SD3.*JointAttnProcessor2_0"):
        Runner(tiny_modular_sd3_pipeline(PerturbedAttentionGuidance(perturbed_guidance_config=layers)))
    runner.set_guider("AdaptiveProjectedGuidance", guidance_scale=5.0, eta=0.8)
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    assert torch.equal(run.latents, reference(tiny_modular_sd3_pipeline(GUIDERS["apg"]()), {}))
