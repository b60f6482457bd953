"""SD3 and Flux steered by hand equal hand-written denoising loops, bit for bit.

The reference loops follow ``StableDiffusion3Pipeline.__call__`` and ``FluxPipeline.__call__``
with diffusers' own pieces only (the pipeline's ``encode_prompt``, ``prepare_latents`` and
``_unpack_latents``, the scheduler, the transformer; no sdwidget code): CFG on SD3's batch
``[unconditional, conditional]`` of prompt and pooled embeddings; Flux's distilled guidance
embedding built as the pipeline builds it, and its true CFG as a second transformer call.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.flux.pipeline_flux import calculate_shift, retrieve_timesteps

from sdwidget import Runner, RunStatus
from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline

STEPS, SEED, SIZE, TOKENS = 8, 7, 32, 16
PROMPT, NEGATIVE, EDIT = "a red star on a blue background", "blurry", "a green circle"
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipes():
    return {"sd3": tiny_sd3_pipeline(), "flux-dev": tiny_flux_pipeline(), "flux-schnell": tiny_flux_pipeline(
        guidance_embeds=False)}  # fmt: skip


def curve(start, changes, steps=STEPS):
    """The guidance of every step after hand changes at the ends of the given steps."""
    values = [start] * steps
    for step, value in changes:
        values[step + 1 :] = [value] * (steps - step - 1)
    return values


@torch.no_grad()
def sd3_reference(pipe, guidance, n, prompts):
    """``prompts[i]``: the prompt of step i."""
    embeds = {
        text: pipe.encode_prompt(prompt=text, prompt_2=None, prompt_3=None, device="cpu", num_images_per_prompt=n,
                                 do_classifier_free_guidance=True, negative_prompt=NEGATIVE)
        for text in set(prompts)
    }  # fmt: skip
    generator = torch.Generator().manual_seed(SEED)
    side = SIZE // pipe.vae_scale_factor
    latents = torch.randn((n, 16, side, side), generator=generator)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    for i, t in enumerate(scheduler.timesteps):
        cond, uncond, pooled, uncond_pooled = embeds[prompts[i]]
        on = guidance[i] > 1
        x = torch.cat([latents] * 2) if on else latents
        out = pipe.transformer(
            hidden_states=x, timestep=t.expand(x.shape[0]), return_dict=False,
            encoder_hidden_states=torch.cat([uncond, cond]) if on else cond,
            pooled_projections=torch.cat([uncond_pooled, pooled]) if on else pooled,
        )[0]  # fmt: skip
        if on:
            out_uncond, out_cond = out.chunk(2)
            out = out_uncond + guidance[i] * (out_cond - out_uncond)
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return latents


@torch.no_grad()
def flux_reference(pipe, guidance, true_cfg, n, prompts):
    """``guidance[i]``: the distilled guidance of step i; ``true_cfg[i]``: its true CFG scale."""

    def encode(text):
        return pipe.encode_prompt(prompt=text, prompt_2=None, device="cpu", num_images_per_prompt=n,
                                  max_sequence_length=TOKENS)  # fmt: skip

    embeds = {text: encode(text) for text in set(prompts)}
    negative = encode(NEGATIVE)
    generator = torch.Generator().manual_seed(SEED)
    latents, image_ids = pipe.prepare_latents(n, 16, SIZE, SIZE, torch.float32, "cpu", generator)
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = calculate_shift(latents.shape[1], 256, 4096, 0.5, 1.15)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        timestep = t.expand(n).to(latents.dtype) / 1000
        distilled = torch.full([1], guidance[i], dtype=torch.float32).expand(n)
        distilled = distilled if pipe.transformer.config.guidance_embeds else None

        def predict(text_embeds, pooled, text_ids, latents=latents, distilled=distilled, timestep=timestep):
            return pipe.transformer(
                hidden_states=latents, timestep=timestep, guidance=distilled, pooled_projections=pooled,
                encoder_hidden_states=text_embeds, txt_ids=text_ids, img_ids=image_ids, joint_attention_kwargs={},
                return_dict=False,
            )[0]  # fmt: skip

        out = predict(*embeds[prompts[i]])
        if true_cfg[i] > 1:
            neg = predict(*negative)
            out = neg + true_cfg[i] * (out - neg)
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)


def steer(pipe, start, changes, n, edit_at=None, **kwargs):
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    if edit_at is not None:
        at_step(runner, edit_at, lambda run: runner.set_prompt(EDIT))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start, seed=SEED,
        height=SIZE, width=SIZE, num_images_per_prompt=n, **kwargs,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.latents.shape[0] == n and len(run.images) == n
    return runner, run


def prompts_of(edit_at):
    return [PROMPT if edit_at is None or i <= edit_at else EDIT for i in range(STEPS)]


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_sd3_guidance_crossing_one_matches_reference_loop(pipes, case, n):
    start, *changes = CASES[case]
    _, run = steer(pipes["sd3"], start, changes, n)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    assert torch.equal(run.latents, sd3_reference(pipes["sd3"], guidance, n, prompts_of(None)))
    assert not torch.allclose(run.latents, sd3_reference(pipes["sd3"], [start] * STEPS, n, prompts_of(None)))


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_flux_true_cfg_crossing_one_matches_reference_loop(pipes, case, n):
    """A model without a guidance embedding (FLUX.1-schnell's kind): guidance is true CFG."""
    start, *changes = CASES[case]
    _, run = steer(pipes["flux-schnell"], start, changes, n, max_sequence_length=TOKENS)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    expected = flux_reference(pipes["flux-schnell"], guidance, guidance, n, prompts_of(None))
    assert torch.equal(run.latents, expected)
    other = flux_reference(pipes["flux-schnell"], guidance, [start] * STEPS, n, prompts_of(None))
    assert not torch.allclose(run.latents, other)


@pytest.mark.parametrize("true_cfg", [1.0, 3.0])
@pytest.mark.parametrize("n", [1, 2])
def test_flux_distilled_guidance_changed_mid_run_matches_reference_loop(pipes, n, true_cfg):
    """FLUX.1-dev's kind: the guidance embedding follows the hand changes; true CFG stays at
    the run's ``true_cfg_scale`` (off at 1)."""
    start, changes = 3.5, [(2, 0.5), (5, 7.0)]
    _, run = steer(pipes["flux-dev"], start, changes, n, max_sequence_length=TOKENS, true_cfg_scale=true_cfg)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [true_cfg > 1] * STEPS
    expected = flux_reference(pipes["flux-dev"], guidance, [true_cfg] * STEPS, n, prompts_of(None))
    assert torch.equal(run.latents, expected)
    unsteered = flux_reference(pipes["flux-dev"], [start] * STEPS, [true_cfg] * STEPS, n, prompts_of(None))
    assert not torch.allclose(run.latents, unsteered)


@pytest.mark.parametrize("kind", ["sd3", "flux-dev", "flux-schnell"])
def test_a_prompt_edit_mid_run_matches_reference_loop(pipes, kind):
    start, changes, edit_at = 4.0, [(3, 0.9)], 4
    extra = {} if kind == "sd3" else {"max_sequence_length": TOKENS}
    _, run = steer(pipes[kind], start, changes, 2, edit_at=edit_at, **extra)
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": EDIT, "negative_prompt": None}
    guidance, prompts = curve(start, changes), prompts_of(edit_at)
    if kind == "sd3":
        expected = sd3_reference(pipes[kind], guidance, 2, prompts)
    else:
        true_cfg = [1.0] * STEPS if kind == "flux-dev" else guidance
        expected = flux_reference(pipes[kind], guidance, true_cfg, 2, prompts)
    assert torch.equal(run.latents, expected)
