"""SDXL's unconditional time ids when guidance crosses 1.0 mid-run: a refiner (SDXL img2img with
``requires_aesthetics_score``, only the second text encoder) conditions its unconditional half
on ``negative_aesthetic_score``, and SDXL text-to-image on ``negative_original_size`` and
``negative_target_size``. A run started at guidance 1.0 never has that row; the runner builds it
(sdwidget/families/sdxl_time_ids.py). The reference loops follow diffusers' pipelines, no sdwidget code.
"""

import copy

import pytest
import torch
from conftest import at_step
from diffusers import StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel
from test_families import IMAGE, repeat
from test_guidance_oracle import guided_eps, sdxl_conditioning, tokens

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.families import family_of
from sdwidget.families.sdxl_time_ids import negative_time_ids
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, SEED, SIZE, START = 10, 7, 32, 0.6  # denoising_start 0.6: timesteps 333 222 111 0 of 999 888 ... 0
PROMPT, NEGATIVE, SCORE, NEGATIVE_SCORE = "a red star on a blue background", "blurry", 6.0, 2.5
CASES = {"starts-off": (1.0, (0, 7.0), (2, 0.5)), "starts-on": (7.0, (0, 0.5), (2, 7.0))}


def encode_prompts(pipe, prompt, negative_prompt):
    """Both halves as the run encodes them: the pipeline's family's encoder."""
    return family_of(pipe).encode(prompt, negative_prompt, {})


@pytest.fixture(scope="module")
def refiner():
    """The base's VAE, second text encoder and scheduler; a UNet whose added embedding takes five
    time ids (sizes, crop, aesthetic score) × 8 plus the 32-wide pooled text embedding."""
    base = tiny_sdxl_pipeline().components
    torch.manual_seed(1)
    unet = UNet2DConditionModel.from_config(
        {**base["unet"].config, "projection_class_embeddings_input_dim": 5 * 8 + 32, "cross_attention_dim": 32}
    )
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=base["vae"], text_encoder=None, tokenizer=None, text_encoder_2=base["text_encoder_2"],
        tokenizer_2=base["tokenizer_2"], unet=unet, scheduler=base["scheduler"], requires_aesthetics_score=True,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


pytestmark = pytest.mark.usefixtures("one_thread")


@torch.no_grad()
def refiner_conditioning(pipe, text, score):
    out = pipe.text_encoder_2(tokens(pipe.tokenizer_2, text), output_hidden_states=True)
    time_ids = torch.tensor([[SIZE, SIZE, 0, 0, score]], dtype=torch.float32)
    return {
        "encoder_hidden_states": out.hidden_states[-2],
        "added_cond_kwargs": {"text_embeds": out[0], "time_ids": time_ids},
    }


@torch.no_grad()
def reference_loop(pipe, cond, uncond, schedule, n, start=None):
    """SDXL's loop; with ``start``, img2img's ``get_timesteps(denoising_start=...)`` and its image
    latents without noise, as a refiner takes over from a base."""
    generator = torch.Generator().manual_seed(SEED)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    timesteps, side = scheduler.timesteps, SIZE // pipe.vae_scale_factor
    cond, uncond = repeat(cond, n), repeat(uncond, n)
    if start is not None:
        kept = int((timesteps < round(1000 - start * 1000)).sum())
        if scheduler.order == 2 and kept % 2 == 0:  # a second-order step is never cut in half
            kept += 1
        timesteps = timesteps[len(timesteps) - kept :]
        scheduler.set_begin_index(len(scheduler.timesteps) - kept)
        pixels = pipe.image_processor.preprocess(IMAGE)
        latents = pipe.vae.encode(pixels).latent_dist.sample(generator) * pipe.vae.config.scaling_factor
        latents = latents.repeat(n, 1, 1, 1)
    else:
        latents = torch.randn((n, 4, side, side), generator=generator) * scheduler.init_noise_sigma
    for t, g in zip(timesteps, schedule, strict=True):
        eps = guided_eps(pipe, scheduler, latents, t, cond, uncond, g)
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


def steered(pipe, case, ran, **kwargs):
    """A run with the case's two hand changes, and the guidance each step ran at."""
    start, *changes = CASES[case]
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start, seed=SEED, **kwargs
    )
    assert run.status is RunStatus.FINISHED, run.traceback
    schedule = [start] * ran
    for step, value in changes:
        schedule[step + 1 :] = [value] * (ran - step - 1)
    assert run.guidance == schedule and [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    return run, schedule


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("n", [1, 2])
def test_refiner_uses_the_negative_aesthetic_score_when_cfg_comes_on(refiner, case, n):
    run, schedule = steered(refiner, case, 4, image=IMAGE, denoising_start=START, num_images_per_prompt=n)
    assert run.params["steps_run"] == len(run.steps) == 4
    cond = refiner_conditioning(refiner, PROMPT, SCORE)
    expected = reference_loop(
        refiner, cond, refiner_conditioning(refiner, NEGATIVE, NEGATIVE_SCORE), schedule, n, START
    )
    assert run.latents.shape[0] == n and (run.latents - expected).abs().max().item() == 0
    # The unconditional half on the positive score (what a run started at 1.0 had) gives other latents.
    wrong = reference_loop(refiner, cond, refiner_conditioning(refiner, NEGATIVE, SCORE), schedule, n, START)
    assert not torch.allclose(run.latents, wrong, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_sdxl_negative_sizes_condition_the_unconditional_half(sdxl_pipe, case):
    sizes = {"negative_original_size": (32, 48), "negative_target_size": (48, 32)}
    run, schedule = steered(sdxl_pipe, case, STEPS, height=SIZE, width=SIZE, **sizes)
    cond, uncond = sdxl_conditioning(sdxl_pipe, PROMPT), sdxl_conditioning(sdxl_pipe, NEGATIVE)
    uncond["added_cond_kwargs"]["time_ids"] = torch.tensor([[32.0, 48, 0, 0, 48, 32]])
    expected = reference_loop(sdxl_pipe, cond, uncond, schedule, 1)
    assert (run.latents - expected).abs().max().item() == 0


def test_negative_time_ids_only_where_they_differ(refiner, sdxl_pipe):
    first = encode_prompts(refiner, PROMPT, NEGATIVE)
    built = negative_time_ids(
        refiner, SIZE, SIZE, {"negative_aesthetic_score": 1.5, "crops_coords_top_left": (4, 8)}, first
    )
    assert torch.equal(built["add_time_ids"], torch.tensor([[32.0, 32, 0, 0, 1.5]]))
    assert negative_time_ids(sdxl_pipe, SIZE, SIZE, {}, encode_prompts(sdxl_pipe, PROMPT, None)) == {}
    sd = tiny_sd_pipeline()
    assert negative_time_ids(sd, SIZE, SIZE, {}, encode_prompts(sd, PROMPT, None)) == {}


def test_a_refiner_run_with_sizes_replays_from_its_gallery(refiner, tmp_path):
    """JSON keeps the size and crop tuples as lists, which the refiner cannot add to its
    ``(aesthetic_score,)``: a replay turns them back into tuples."""
    sizes = {"original_size": (48, 64), "crops_coords_top_left": (4, 0), "negative_original_size": (32, 32)}
    run, _ = steered(refiner, "starts-off", 4, image=IMAGE, denoising_start=START, **sizes)
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "refiner"))
    again = Runner(refiner, cpu_threads=1).replay(loaded)
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance and torch.equal(again.latents, run.latents)
    assert {name: again.params["pipe_kwargs"][name] for name in sizes} == sizes
