"""What the next step takes (``NextStep``, 656b3e3), tried at its corners against diffusers' own
loop: a hand guidance, a hand knob and a prompt edit landing at one step boundary over planned
curves of both; a branch whose hand changes, made during the steps it shares with its parent,
wait for its first new step."""

import torch
from conftest import at_step
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
from test_guidance_oracle import NEGATIVE, PROMPT, SEED, SIZE, STEPS, cat_conditioning, runner_like_reference
from test_guidance_oracle import sd_conditioning as conditioning

from sdwidget import RunStatus

RESCALE = "guidance_rescale"
EDIT = "a green ring on a white background"
PLANNED_G = [5.0, 5.0, 4.0, 0.8, 0.8, 6.0, 6.0, 6.0, 6.0, 6.0]
PLANNED_R = [0.0, 0.7, 0.7, 0.7, 0.7, 0.7, 0.3, 0.3, 0.3, 0.3]


def reference_loop(pipe, guidance, rescale, prompts):
    """SD's loop, from diffusers' pieces alone: step ``i`` conditioned on ``prompts[i]``, CFG at
    ``guidance[i]`` above 1 on the batch [uncond, cond], then rescaled by ``rescale[i]``."""
    uncond = conditioning(pipe, NEGATIVE)
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    latents = torch.randn((1, 4, side, side), generator=torch.Generator().manual_seed(SEED))
    latents = latents * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        cond = conditioning(pipe, prompts[i])
        if guidance[i] > 1:
            model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            uncond_eps, cond_eps = pipe.unet(model_input, t, **cat_conditioning(uncond, cond)).sample.chunk(2)
            eps = uncond_eps + guidance[i] * (cond_eps - uncond_eps)
            if rescale[i] > 0:
                eps = rescale_noise_cfg(eps, cond_eps, guidance_rescale=rescale[i])
        else:
            eps = pipe.unet(scheduler.scale_model_input(latents, t), t, **cond).sample
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


def hand(runner, guidance, rescale, prompt=None):
    def change(run) -> None:
        runner.set_guidance(guidance)
        runner.set_knob(RESCALE, rescale)
        if prompt is not None:
            runner.set_prompt(prompt)

    return change


def test_hand_guidance_knob_and_prompt_at_one_boundary_over_planned_curves_match_diffusers(sd_pipe):
    runner = runner_like_reference(sd_pipe)
    undo = at_step(runner, 3, hand(runner, 2.5, 0.6, EDIT))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE,
        guidance_schedule=PLANNED_G, knob_schedules={RESCALE: PLANNED_R},
    )  # fmt: skip
    undo()
    assert run.status is RunStatus.FINISHED, run.traceback
    guidance, rescale = PLANNED_G[:4] + [2.5] * 6, PLANNED_R[:4] + [0.6] * 6
    assert run.guidance == guidance and run.knob_curves == {RESCALE: rescale}
    assert run.prompts == [{"step": 4, "prompt": EDIT, "negative_prompt": None}]
    prompts = [PROMPT] * 4 + [EDIT] * 6
    expected = reference_loop(sd_pipe, guidance, rescale, prompts)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5)
    planned = reference_loop(sd_pipe, PLANNED_G, PLANNED_R, [PROMPT] * STEPS)
    assert not torch.allclose(run.latents, planned, atol=1e-3), "the hand changes mattered: the test can fail"

    # A branch at step 6: hand changes made during its six shared steps wait for step 6, its first.
    undo = at_step(runner, 1, hand(runner, 7.0, 0.2))
    child = runner.branch(run, 6)
    child.wait()
    undo()
    assert child.status is RunStatus.FINISHED, child.traceback
    guidance, rescale = guidance[:6] + [7.0] * 4, rescale[:6] + [0.2] * 4
    assert child.guidance == guidance and child.knob_curves == {RESCALE: rescale}
    assert all(child.frames[step] is run.frames[step] for step in range(6))
    assert torch.allclose(child.latents, reference_loop(sd_pipe, guidance, rescale, prompts), atol=1e-5, rtol=1e-5)
