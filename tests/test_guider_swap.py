"""Swapping a modular pipeline's guider between runs (``Runner.set_guider``), against the pipeline.

The reference side is diffusers alone: the modular pipeline called with a guider built here
from ``diffusers.guiders`` (``test_modular.reference``). A swap mid-run is refused with the reason.
"""

import pytest
import torch
from diffusers.guiders import AdaptiveProjectedGuidance, PerturbedAttentionGuidance, TangentialClassifierFreeGuidance
from diffusers.hooks import LayerSkipConfig
from test_modular import GUIDERS, MOMENTUM, NEGATIVE, PROMPT, SEED, SIZE, STEPS, reference, steered

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_modular_sdxl_pipeline, tiny_sd_pipeline

APG = {"guidance_scale": 5.0, MOMENTUM: -0.3, "eta": 0.4}


def knob_names(runner):
    return [knob["name"] for knob in runner.knobs]


def test_after_a_swap_to_apg_a_run_equals_the_pipelines_own_output_with_that_guider():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner, before = steered(pipe)
    assert knob_names(runner) == ["guidance_scale", "guidance_rescale", "start", "stop"]
    knobs = runner.set_guider("AdaptiveProjectedGuidance", **APG)
    assert knobs == runner.knobs and knob_names(runner)[:4] == [
        "guidance_scale",
        "eta",
        MOMENTUM,
        "adaptive_projected_guidance_rescale",
    ]
    assert {knob["name"]: knob["default"] for knob in knobs}["eta"] == 0.4, "the knobs default to the new guider's"
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    assert run.params["guider"] == "AdaptiveProjectedGuidance" and run.params["guider_config"]["eta"] == 0.4
    oracle = tiny_modular_sdxl_pipeline(AdaptiveProjectedGuidance(**APG))  # built afresh: no sdwidget on this side
    assert torch.equal(run.latents, reference(oracle, {}))
    assert not torch.equal(run.latents, before.latents), "the guider changed the run"
    # Back to CFG with a guider built by hand: the run before the swaps comes back exactly.
    runner.set_guider(GUIDERS["cfg"]())
    again = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0,
                            seed=SEED, height=SIZE, width=SIZE)  # fmt: skip
    assert torch.equal(again.latents, before.latents) and "eta" not in knob_names(runner)


def test_a_pag_named_perturbs_the_unets_middle_block_as_the_pipeline_does_with_it():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    runner.set_guider("PerturbedAttentionGuidance", guidance_scale=5.0, perturbed_guidance_stop=1.0)
    assert "skip_layer_guidance_scale" in knob_names(runner)
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    layers = LayerSkipConfig(indices=[0], fqn="mid_block.attentions.0.transformer_blocks", skip_attention=False,
                             skip_attention_scores=True, skip_ff=False)  # fmt: skip
    pag = PerturbedAttentionGuidance(guidance_scale=5.0, perturbed_guidance_stop=1.0, perturbed_guidance_config=layers)
    assert torch.equal(run.latents, reference(tiny_modular_sdxl_pipeline(pag), {}))


def test_every_guider_named_builds_and_runs():
    runner = Runner(tiny_modular_sdxl_pipeline(), cpu_threads=torch.get_num_threads())
    assert list(runner.family.guider_choices().values()) == ["CFG", "APG", "PAG", "Skip-layer guidance", "CFG-Zero*"]
    for name in runner.family.guider_choices():
        runner.set_guider(name)
        run = runner.generate(PROMPT, num_inference_steps=3, height=SIZE, width=SIZE, seed=SEED)
        assert run.status is RunStatus.FINISHED and run.params["guider"] == name, run.traceback
    runner.set_guider("AdaptiveProjectedGuidance")
    assert MOMENTUM in knob_names(runner), "APG named has a momentum to steer"


def test_a_swap_while_a_run_goes_is_refused_with_the_reason_and_the_run_goes_on():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["apg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    run = runner.start(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                       height=SIZE, width=SIZE, pause_at=[3])  # fmt: skip
    while run.status is not RunStatus.PAUSED:
        run.wait(0.01)
    with pytest.raises(RuntimeError) as refused:
        runner.set_guider("ClassifierFreeGuidance")
    words = str(refused.value)
    assert words.startswith(f"the guider cannot be swapped while run #{run.id} is paused: a run records one guider")
    assert "APG makes its momentum buffer at the first step" in words and "APG's, fixed when it started" in words
    assert words.endswith("Swap it once the run has ended (Stop, or wait for it)")
    assert type(pipe.guider).__name__ == "AdaptiveProjectedGuidance"
    run.resume()
    run.wait()
    assert torch.equal(run.latents, reference(tiny_modular_sdxl_pipeline(GUIDERS["apg"]()), {})), "unchanged"
    runner.set_guider("ClassifierFreeGuidance")  # the run has ended: now it swaps
    assert type(pipe.guider).__name__ == "ClassifierFreeGuidance"


def test_what_cannot_be_swapped_is_refused_naming_it():
    runner = Runner(tiny_modular_sdxl_pipeline(GUIDERS["cfg"]()))
    with pytest.raises(ValueError, match="no guider 'Magic' to swap to; sdwidget swaps to ClassifierFreeGuidance, "):
        runner.set_guider("Magic")
    with pytest.raises(ValueError, match="the guider TangentialClassifierFreeGuidance has not been checked"):
        runner.set_guider(TangentialClassifierFreeGuidance())
    with pytest.raises(TypeError, match="config is for a guider given by name"):
        runner.set_guider(GUIDERS["apg"](), eta=0.1)
    assert type(runner.pipe.guider).__name__ == "ClassifierFreeGuidance", "each refusal leaves the guider"
    with pytest.raises(TypeError, match="StableDiffusionPipeline has no guider to swap"):
        Runner(tiny_sd_pipeline()).set_guider("AdaptiveProjectedGuidance")


def test_a_replay_swaps_the_recorded_guider_back_and_equals_its_run(tmp_path):
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    runner.set_guider("AdaptiveProjectedGuidance", **APG)
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
                          height=SIZE, width=SIZE)  # fmt: skip
    gallery = Gallery.load(Gallery.from_run(run).save(tmp_path / "apg"))
    for source in (run, gallery):
        runner.set_guider(GUIDERS["cfg"]())
        cfg = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0,
                              seed=SEED, height=SIZE, width=SIZE)  # fmt: skip
        assert not torch.equal(cfg.latents, run.latents), "the guider changes the run"
        with pytest.warns(UserWarning, match="guider is now AdaptiveProjectedGuidance"):
            again = runner.replay(source)
        again.wait()
        assert again.status is RunStatus.FINISHED, again.traceback
        assert torch.equal(again.latents, run.latents), "the replay ran with the recorded guider"
        assert runner.family.guider_name() == "AdaptiveProjectedGuidance" and MOMENTUM in knob_names(runner)


def test_a_guider_that_cannot_be_built_as_recorded_is_left_and_its_knobs_are_refused():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    layers = LayerSkipConfig(indices=[0], fqn="mid_block.attentions.0.transformer_blocks", skip_attention=False,
                             skip_attention_scores=True, skip_ff=False)  # fmt: skip
    runner.set_guider(PerturbedAttentionGuidance(guidance_scale=5.0, perturbed_guidance_config=layers))
    run = runner.generate(PROMPT, num_inference_steps=3, seed=SEED, height=SIZE, width=SIZE)
    runner.set_guider(GUIDERS["cfg"]())
    # Its layers are recorded as text: no PAG is built from guesses; its knob curves are refused by name.
    with (
        pytest.raises(ValueError, match="knob 'skip_layer_guidance_scale'"),
        pytest.warns(UserWarning, match="recorded with the guider PerturbedAttentionGuidance"),
    ):
        runner.replay(run)
    assert runner.family.guider_name() == "ClassifierFreeGuidance"
    runner.set_guider(PerturbedAttentionGuidance(guidance_scale=5.0, perturbed_guidance_config=layers))
    again = runner.replay(run)
    again.wait()
    assert torch.equal(again.latents, run.latents), "swapped in by hand, the replay is exact"
