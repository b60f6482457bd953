"""The guidance lens: a step seen at another guidance equals, to 1e-6, the x0 a branch applying
that value at that step previews, with no model call; a held step's lens (peek) likewise, and
Next step applies the value set while it was held."""

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler

from sdwidget import Runner
from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline, tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, K = 6, 3


def scheduled(pipe, kind):
    if kind == "dpm++2m-karras":
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, use_karras_sigmas=True)
    elif kind == "euler":
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    return pipe


class Calls:
    """Counts the denoiser's calls (a forward pre-hook sees every one, wrapped or not)."""

    def __init__(self, model):
        self.n = 0
        self.handle = model.register_forward_pre_hook(self._count)

    def _count(self, *_):
        self.n += 1


def denoiser(pipe):
    return getattr(pipe, "unet", None) or pipe.transformer


PIPES = {
    "sd": tiny_sd_pipeline, "sdxl": tiny_sdxl_pipeline, "sd3": tiny_sd3_pipeline,
    "flux-schnell": lambda: tiny_flux_pipeline(guidance_embeds=False),
}  # fmt: skip


@pytest.mark.parametrize("family", ["sd", "sdxl", "sd3", "flux-schnell"])
@pytest.mark.parametrize("kind", ["euler", "dpm++2m-karras"])
def test_lens_equals_branch_applying_the_value_at_that_step(family, kind):
    pipe = PIPES[family]()
    if family in ("sd", "sdxl"):
        scheduled(pipe, kind)
    elif kind != "euler":
        pytest.skip("flow matching runs its own Euler")
    runner = Runner(pipe)
    run = runner.generate(
        "a red star", negative_prompt="blurry", num_inference_steps=STEPS, guidance_scale=5.0, seed=3, keep_latents=True
    )
    calls = Calls(denoiser(pipe))
    lenses = {g: run.lens(K, g) for g in (9.0, 2.5, 5.0)}
    views = run.lens_views(K)
    effect = run.guidance_effect()
    assert calls.n == 0, "a lens needs no model call"
    assert lenses[5.0].applied and not lenses[9.0].applied
    assert torch.equal(lenses[5.0].latents, run.plan.keep.get(K)), "the lens at the value run is the step's own x0"
    # The preview learns from each finished run: the frame of the step's x0 as it maps now.
    assert np.array_equal(views["guided"].numpy(), runner.preview.frame(run.plan.keep.get(K), last=True).numpy())
    assert views["unconditional"] is not None
    assert all(e is not None and e > 0 for e in effect)
    for g in (9.0, 2.5):
        branch = runner.branch(run, K, guidance_schedule=[g] + [5.0] * (STEPS - K - 1), keep_latents=True)
        branch.wait()
        reference = branch.plan.keep.get(K)
        assert (lenses[g].latents - reference).abs().max().item() <= 1e-6
    calls.handle.remove()


def test_lens_of_a_step_run_without_cfg_refuses_above_one_with_the_reason():
    runner = Runner(tiny_sd_pipeline())
    run = runner.generate("a red star", num_inference_steps=STEPS, guidance_scale=1.0, seed=3, keep_latents=True)
    assert torch.equal(run.lens(K, 0.5).latents, run.plan.keep.get(K))
    with pytest.raises(ValueError, match="unconditional half"):
        run.lens(K, 4.0)
    assert run.guidance_effect() == [0.0] * STEPS
    with pytest.raises(ValueError, match="step"):
        run.lens(STEPS, 4.0)
    with pytest.raises(TypeError, match="guidance"):
        run.lens(K, "high")


def held(runner, schedule, **kwargs):
    """A run on its own thread held before step K (K steps run)."""
    run = runner.start(
        "a red star", num_inference_steps=STEPS, guidance_schedule=schedule, seed=3, keep_latents=True,
        pause_at=[K], **kwargs,
    )  # fmt: skip
    for _ in range(600):
        if run.controls.paused and len(run.steps) == K:
            return run
        run.wait(0.01)
    raise AssertionError("the run never held")


def test_held_step_lens_costs_its_own_model_call_once_and_next_step_applies_the_value():
    pipe = tiny_sd_pipeline()
    runner = Runner(pipe)
    base = runner.generate("a red star", num_inference_steps=STEPS, guidance_scale=5.0, seed=3, keep_latents=True)
    run = held(runner, [5.0] * STEPS)
    calls = Calls(pipe.unet)
    before = run.lens(K, 9.0)
    assert calls.n == 1, "the held step's own model call, made early"
    lenses = [run.lens(K, g) for g in (2.0, 7.5, 9.0)]
    assert calls.n == 1 and run.controls.paused and len(run.steps) == K
    assert torch.equal(lenses[-1].latents, before.latents) and not before.applied
    run.set_guidance(9.0)
    run.step_once()
    for _ in range(600):
        if len(run.steps) > K and run.controls.paused:
            break
        run.wait(0.01)
    assert run.steps[K].guidance == 9.0 and calls.n == 1, "step K used the peeked call, made once"
    assert torch.equal(run.plan.keep.get(K), before.latents), "Next step applied what the lens showed"
    run.resume()
    run.wait()
    # A hand value ends the schedule and holds, as a slider change does.
    assert run.guidance == [5.0] * K + [9.0] * (STEPS - K)
    branch = runner.branch(base, K, guidance_scale=9.0, keep_latents=True)
    branch.wait()
    assert torch.equal(run.latents, branch.latents)
    assert (before.latents - branch.plan.keep.get(K)).abs().max().item() <= 1e-6
    calls.handle.remove()


def wait_held_at(run, steps):
    for _ in range(600):
        if len(run.steps) >= steps and (run.controls.paused or run.done):
            return
        run.wait(0.01)


def test_held_step_crossing_one_both_ways():
    runner = Runner(tiny_sd_pipeline())
    base = runner.generate("a red star", num_inference_steps=STEPS, guidance_scale=5.0, seed=3, keep_latents=True)
    # Down: the peeked step computed both halves; 0.5 takes the conditional one for this very step.
    run = held(runner, [5.0] * STEPS)
    down = run.lens(K, 0.5)
    run.set_guidance(0.5)
    run.resume()
    run.wait()
    assert run.guidance == [5.0] * K + [0.5] * (STEPS - K) and [s.cfg for s in run.steps][K:] == [False] * (STEPS - K)
    assert torch.equal(run.plan.keep.get(K), down.latents)
    branch = runner.branch(base, K, guidance_scale=0.5, keep_latents=True)
    branch.wait()
    # The branch's step K ran the conditional half alone (a batch of one): the same to float rounding.
    assert (down.latents - branch.plan.keep.get(K)).abs().max().item() <= 1e-5
    assert (run.latents - branch.latents).abs().max().item() <= 1e-4
    # Up: guidance off at the hold, so the peeked step has one half: no lens above 1, and a value
    # set while it is held applies from the next step.
    run = held(runner, [1.0] * STEPS)
    assert torch.equal(run.lens(K, 0.8).latents, run.lens(K, 1.0).latents)
    with pytest.raises(ValueError, match="unconditional half"):
        run.lens(K, 6.0)
    run.set_guidance(6.0)
    run.resume()
    run.wait()
    assert run.guidance == [1.0] * (K + 1) + [6.0] * (STEPS - K - 1)
    assert [s.cfg for s in run.steps] == [False] * (K + 1) + [True] * (STEPS - K - 1)


def test_peek_is_refused_where_there_is_no_free_lens():
    runner = Runner(tiny_flux_pipeline())  # FLUX.1-dev's distilled guidance: a model input
    run = runner.generate("a red star", num_inference_steps=3, guidance_scale=3.5, seed=3)
    with pytest.raises(ValueError, match="no free guidance lens: guidance_scale is an input"):
        run.lens(1, 2.0)
    assert run.guidance_effect() == [None] * 3 and not run.peek()
