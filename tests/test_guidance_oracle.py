"""Guidance changed by hand mid-run equals a hand-written denoising loop with the same schedule.

The reference loops below use only torch, transformers and diffusers' models and schedulers:
text encoders, unconditional embeddings, the CFG formula and ``scheduler.step``. No sdwidget code.
"""

import pytest
import torch
from conftest import at_step
from diffusers.callbacks import SDXLCFGCutoffCallback

from sdwidget import Runner, RunStatus

STEPS, SEED, SIZE = 10, 7, 32
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"


def runner_like_reference(pipe):
    # The reference runs here with torch's thread count; the runner would pick one thread for a
    # model this small, and other reduction orders differ in the last bits.
    return Runner(pipe, cpu_threads=torch.get_num_threads())


def tokens(tokenizer, text):
    return tokenizer(
        text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids


@torch.no_grad()
def sd_conditioning(pipe, text):
    return {"encoder_hidden_states": pipe.text_encoder(tokens(pipe.tokenizer, text))[0]}


@torch.no_grad()
def sdxl_conditioning(pipe, text):
    hidden = []
    for tokenizer, encoder in ((pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)):
        out = encoder(tokens(tokenizer, text), output_hidden_states=True)
        hidden.append(out.hidden_states[-2])
    time_ids = torch.tensor([[SIZE, SIZE, 0, 0, SIZE, SIZE]], dtype=torch.float32)
    return {
        "encoder_hidden_states": torch.cat(hidden, dim=-1),
        "added_cond_kwargs": {"text_embeds": out[0], "time_ids": time_ids},
    }


def cat_conditioning(uncond, cond):
    if isinstance(cond, dict):
        return {k: cat_conditioning(uncond[k], cond[k]) for k in cond}
    return torch.cat([uncond, cond])


@torch.no_grad()
def reference_loop(pipe, conditioning, schedule):
    cond, uncond = conditioning(pipe, PROMPT), conditioning(pipe, NEGATIVE)
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    generator = torch.Generator().manual_seed(SEED)
    latents = torch.randn((1, 4, side, side), generator=generator) * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        eps = guided_eps(pipe, scheduler, latents, t, cond, uncond, schedule[i])
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


def guided_eps(pipe, scheduler, latents, t, cond, uncond, g):
    """The UNet's prediction at guidance ``g`` as SD's ``__call__`` makes it: above 1, one call on
    the CFG batch ``[unconditional, conditional]`` combined by ``g``; else the conditional alone."""
    if g > 1:
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        uncond_eps, cond_eps = pipe.unet(model_input, t, **cat_conditioning(uncond, cond)).sample.chunk(2)
        return uncond_eps + g * (cond_eps - uncond_eps)
    return pipe.unet(scheduler.scale_model_input(latents, t), t, **cond).sample


CASES = {
    # start, (step, new value), (step, new value): one change crosses 1.0 down, one back up
    "starts-on": (5.0, (2, 0.8), (5, 6.5)),
    "starts-off": (1.0, (1, 4.0), (6, 0.5)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_hand_changed_guidance_matches_reference_loop(family, case, sd_pipe, sdxl_pipe):
    pipe, conditioning = (sd_pipe, sd_conditioning) if family == "sd" else (sdxl_pipe, sdxl_conditioning)
    start, *changes = CASES[case]
    runner = runner_like_reference(pipe)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start, seed=SEED,
        height=SIZE, width=SIZE,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    schedule = [start] * STEPS
    for step, value in changes:
        schedule[step + 1 :] = [value] * (STEPS - step - 1)
    assert run.guidance == schedule
    assert [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(pipe, conditioning, schedule)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5), (run.latents - expected).abs().max()
    # The same schedule without the crossings gives other latents: the test can tell them apart.
    constant = reference_loop(pipe, conditioning, [start] * STEPS)
    assert not torch.allclose(run.latents, constant, atol=1e-3)


def test_combines_with_official_cfg_cutoff_callback(sdxl_pipe):
    runner = runner_like_reference(sdxl_pipe)
    at_step(runner, 6, lambda run: run.set_guidance(6.0))
    cutoff = SDXLCFGCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=3)
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
        height=SIZE, width=SIZE, callbacks=[cutoff],
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    schedule = [5.0] * 4 + [0.0] * 3 + [6.0] * 3
    assert run.guidance == schedule
    assert [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(sdxl_pipe, sdxl_conditioning, schedule)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5)


def test_bare_pipeline_with_cutoff_matches_runner(sdxl_pipe):
    """Without hand changes, the runner reproduces the plain pipeline call exactly."""
    cutoff = SDXLCFGCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=3)
    common = {"num_inference_steps": STEPS, "guidance_scale": 5.0, "height": SIZE, "width": SIZE}
    bare = sdxl_pipe(
        PROMPT, negative_prompt=NEGATIVE, generator=torch.Generator().manual_seed(SEED), output_type="latent",
        callback_on_step_end=cutoff, **common,
    ).images  # fmt: skip
    run = runner_like_reference(sdxl_pipe).generate(
        PROMPT, negative_prompt=NEGATIVE, seed=SEED, callbacks=[cutoff], **common
    )
    assert torch.allclose(run.latents, bare, atol=1e-6)
