"""Steering by hand: prompt edits and branches equal a hand-written denoising loop; pace, single
steps and breakpoints hold where asked and change nothing in the result.

The reference loop uses only torch, transformers and diffusers' models and schedulers, with the
conditioning helpers of ``test_guidance_oracle``; no sdwidget code.
"""

import copy
import threading
import time

import pytest
import torch
from conftest import at_step
from test_guidance_oracle import cat_conditioning, sd_conditioning, sdxl_conditioning

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, SEED, SIZE = 10, 7, 32
PROMPT, OTHER, NEGATIVE, OTHER_NEGATIVE = "a red star", "a blue ring", "blurry", "green"


@torch.no_grad()
def reference_loop(pipe, conditioning, guidance, prompts, negatives):
    """``guidance``, ``prompts`` and ``negatives`` give each step's value."""
    encoded = {text: conditioning(pipe, text) for text in {*prompts, *negatives}}
    # A copy, not from_config: the pipeline corrects DDIM's clip_sample on its own instance.
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    generator = torch.Generator().manual_seed(SEED)
    latents = torch.randn((1, 4, side, side), generator=generator) * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        cond, g = encoded[prompts[i]], guidance[i]
        if g > 1:
            both = cat_conditioning(encoded[negatives[i]], cond)
            model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            uncond_eps, cond_eps = pipe.unet(model_input, t, **both).sample.chunk(2)
            eps = uncond_eps + g * (cond_eps - uncond_eps)
        else:
            eps = pipe.unet(scheduler.scale_model_input(latents, t), t, **cond).sample
        extra = {"generator": generator} if "generator" in scheduler.step.__code__.co_varnames else {}
        latents = scheduler.step(eps, t, latents, **extra).prev_sample
    return latents


def runner_for(pipe, **kwargs):
    return Runner(pipe, cpu_threads=torch.get_num_threads(), **kwargs)  # the reference's reduction order


ARGS = {"num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE, "negative_prompt": NEGATIVE}
FAMILIES = {"sd": (tiny_sd_pipeline, sd_conditioning), "sdxl": (tiny_sdxl_pipeline, sdxl_conditioning)}


@pytest.mark.parametrize("family", FAMILIES)
def test_prompt_edited_mid_run_matches_reference_loop(family, tmp_path):
    build, conditioning = FAMILIES[family]
    pipe = build()
    runner = runner_for(pipe)
    hands = [
        at_step(runner, 2, lambda run: runner.set_prompt(OTHER)),  # steps 3.. on the new prompt (0-based)
        at_step(runner, 5, lambda run: runner.set_prompt(PROMPT, OTHER_NEGATIVE)),  # and back, new negative
        at_step(runner, 3, lambda run: run.set_guidance(0.8)),  # CFG off across the edit, then on again
        at_step(runner, 6, lambda run: run.set_guidance(6.0)),
    ]
    run = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    for undo in hands:
        undo()
    assert run.status is RunStatus.FINISHED, run.traceback
    prompts = [PROMPT] * 3 + [OTHER] * 3 + [PROMPT] * 4
    negatives = [NEGATIVE] * 6 + [OTHER_NEGATIVE] * 4
    assert run.guidance == [5.0] * 4 + [0.8] * 3 + [6.0] * 3
    assert run.prompts == [
        {"step": 3, "prompt": OTHER, "negative_prompt": None},
        {"step": 6, "prompt": PROMPT, "negative_prompt": OTHER_NEGATIVE},
    ]
    expected = reference_loop(pipe, conditioning, run.guidance, prompts, negatives)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5), (run.latents - expected).abs().max()
    unedited = reference_loop(pipe, conditioning, run.guidance, [PROMPT] * STEPS, [NEGATIVE] * STEPS)
    assert not torch.allclose(run.latents, unedited, atol=1e-3), "the edit must show in the result"
    again = runner.replay(run)
    again.wait()
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents), "replays repeat the edits"
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.prompts == run.prompts
    from_gallery = runner.replay(loaded)
    from_gallery.wait()
    assert torch.equal(from_gallery.latents, run.latents), "a gallery replays the edits too"


SCHEDULERS = ["euler", "ddim", "dpm-karras", "euler-a"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("family", FAMILIES)
def test_branch_equals_a_fresh_run_and_the_reference_loop(family, scheduler):
    build, conditioning = FAMILIES[family]
    pipe = build(scheduler=scheduler)
    runner = runner_for(pipe)
    undo = at_step(runner, 1, lambda run: run.set_guidance(0.8))  # the parent crosses 1.0 down before the branch
    parent = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    undo()
    calls = []
    original = pipe.unet.forward
    pipe.unet.forward = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    try:
        child = runner.branch(parent, 4, guidance_scale=7.0, prompt=OTHER)
        child.wait()
    finally:
        del pipe.unet.forward
    assert child.status is RunStatus.FINISHED, child.traceback
    assert len(calls) == STEPS - 4, "the shared steps ran no UNet"
    assert child.params["parent"] == parent.id and child.params["branch_step"] == 4
    guidance = [5.0, 5.0, 0.8, 0.8] + [7.0] * 6
    assert child.guidance == guidance and [s.timestep for s in child.steps] == [s.timestep for s in parent.steps]
    assert child.frames[:4] == parent.frames[:4] and child.frames[4] is not parent.frames[4], (
        "shared steps show the parent's"
    )
    prompts = [PROMPT] * 4 + [OTHER] * 6
    expected = reference_loop(pipe, conditioning, guidance, prompts, [NEGATIVE] * STEPS)
    assert torch.allclose(child.latents, expected, atol=1e-5, rtol=1e-5), (child.latents - expected).abs().max()
    fresh = runner.generate(PROMPT, guidance_schedule=guidance, prompt_schedule=child.prompts, **ARGS)
    assert torch.allclose(child.latents, fresh.latents, atol=1e-6, rtol=1e-6)
    # A branch that restored the generator or the multistep state wrongly would match this instead:
    assert not torch.allclose(child.latents, parent.latents, atol=1e-3)


def test_branch_refuses_steps_beyond_what_was_kept(sd_pipe):
    runner = Runner(sd_pipe, branch_budget=3 * 2 * 4 * 16 * 16 * 4)  # three steps of CFG outputs: 2×4×16×16 float32
    parent = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    assert parent.branchable == 3
    with pytest.raises(ValueError, match="first 3 steps only.*branch_budget"):
        runner.branch(parent, 5)
    child = runner.branch(parent, 3, guidance_scale=2.0)
    child.wait()
    assert child.status is RunStatus.FINISHED and child.guidance == [5.0] * 3 + [2.0] * 7


def test_pace_holds_steps_apart_and_changes_nothing(sd_pipe):
    runner = Runner(sd_pipe)
    fast = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    started = time.perf_counter()
    paced = runner.generate(PROMPT, guidance_scale=5.0, pace=40.0, **ARGS)
    took = time.perf_counter() - started
    assert took >= (STEPS - 1) / 40.0 and torch.equal(paced.latents, fast.latents)
    slow = runner.generate(PROMPT, guidance_scale=5.0, pace=5.0, **{**ARGS, "num_inference_steps": 4})
    # Boundaries end 1/pace apart, so steps 1 to 4 finish at least 0.4 s apart.
    assert slow.steps[-1].elapsed - slow.steps[0].elapsed >= 0.4 and len(slow.steps) == 4
    slow = runner.start(PROMPT, guidance_scale=5.0, pace=0.5, **ARGS)  # 2 s a step
    time.sleep(0.3)
    started = time.perf_counter()
    slow.stop()
    assert slow.wait(1.5) and time.perf_counter() - started < 1.5, "stop cuts a 2 s wait short"
    assert slow.status is RunStatus.STOPPED


def test_breakpoints_and_single_steps(sd_pipe):
    runner = Runner(sd_pipe)
    holds = []
    runner.observe(lambda event: getattr(event, "status", None) is RunStatus.PAUSED and holds.append(event.step))
    run = runner.start(PROMPT, guidance_scale=5.0, pause_at=[3, 8], **ARGS)
    wait_until(lambda: holds == [3])
    runner.step_once()
    wait_until(lambda: holds == [3, 4])
    runner.step_once()
    wait_until(lambda: holds == [3, 4, 5])
    runner.resume()
    wait_until(lambda: holds == [3, 4, 5, 8])
    runner.resume()
    assert run.wait(10) and run.status is RunStatus.FINISHED and len(run.steps) == STEPS
    plain = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    assert torch.equal(plain.latents, run.latents), "holding changes nothing in the result"


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_prompt_edits_are_checked_and_need_a_run(sd_pipe):
    runner = Runner(sd_pipe)
    with pytest.raises(RuntimeError, match="no run is going"):
        runner.set_prompt("a red star")
    with pytest.raises(TypeError, match="prompt must be a string"):
        runner.set_prompt(3)
    with pytest.raises(ValueError, match="pace must be more than 0"):
        runner.set_pace(0)
    with pytest.raises(ValueError, match="pause_at must be between 1 and 10"):
        runner.start(PROMPT, pause_at=[11], **ARGS)
    assert threading.active_count() >= 1


def test_planned_guidance_of_later_steps_applies_at_those_steps_exactly(sd_pipe):
    runner = runner_for(sd_pipe)
    undo = at_step(runner, 1, lambda run: run.plan_guidance({4: 0.8, 5: 0.8, 6: 5.0, 8: 9.0}))
    run = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    undo()
    guidance = [5.0] * 4 + [0.8, 0.8] + [5.0] * 2 + [9.0] * 2
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    assert run.requests == [(4, 0.8), (5, 0.8), (6, 5.0), (8, 9.0)], "recorded as hand requests"
    expected = reference_loop(sd_pipe, sd_conditioning, guidance, [PROMPT] * STEPS, [NEGATIVE] * STEPS)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="planned step must be between 10"):
        run.controls.plan_guidance({3: 2.0})


def test_a_point_planned_as_its_step_boundary_passes_is_applied_at_the_next_step_exactly(sd_pipe):
    """The race a drag on the curve can hit: step 4's boundary takes its guidance, then a point for
    step 4 arrives before step 4 is recorded, so ``plan_guidance`` accepts it. It must not be left
    unapplied: it is taken at step 5's boundary, recorded there, and the run equals the reference."""
    runner, accepted = runner_for(sd_pipe), []

    def late_plan(run):
        take = run.controls.take_guidance

        def taken_then_planned(step):
            value = take(step)
            if step == 4:
                accepted.append(run.controls.plan_guidance({4: 0.8}))
            return value

        run.controls.take_guidance = taken_then_planned

    undo = at_step(runner, 1, late_plan)
    run = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    undo()
    assert accepted == [{4: 0.8}], "accepted: step 4 was not yet recorded"
    guidance = [5.0] * 5 + [0.8] * 5
    assert run.guidance == guidance and run.requests == [(5, 0.8)]
    expected = reference_loop(sd_pipe, sd_conditioning, guidance, [PROMPT] * STEPS, [NEGATIVE] * STEPS)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5)
