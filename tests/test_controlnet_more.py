"""ControlNet image-to-image (one and two ControlNets) steered across 1.0 both ways equals a
hand-written denoising loop, exactly; the ControlNet loops that cannot be steered are refused.

The reference follows ``StableDiffusionControlNetImg2ImgPipeline.__call__`` with torch and
diffusers' models, schedulers and image processors only (no sdwidget code): the image's VAE
sample, then the noise, from the run's generator; the image latents noised to the first step's
level; the control images repeated per image and doubled under CFG with the latents and the
prompt embeddings; each ControlNet's residuals at the pipeline's default scale (0.8), summed as
``MultiControlNetModel`` sums them; CFG weighted by the step's guidance (the pipeline weights
by its argument: sdwidget combines it).
"""

import copy

import pytest
import torch
from conftest import at_step
from diffusers import (
    ControlNetModel,
    StableDiffusionControlNetImg2ImgPipeline,
    StableDiffusionControlNetInpaintPipeline,
    StableDiffusionXLControlNetImg2ImgPipeline,
    StableDiffusionXLControlNetInpaintPipeline,
)
from test_families import CASES, CONTROLS, IMAGE, NEGATIVE, PROMPT, SEED, SIZE, STEPS, STRENGTH, repeat
from test_guidance_oracle import cat_conditioning, sd_conditioning

from sdwidget import Runner, RunStatus
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

RAN = int(STEPS * STRENGTH)


@torch.no_grad()
def reference_loop(pipe, schedule, n):
    generator = torch.Generator().manual_seed(SEED)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    start = STEPS - RAN
    timesteps = scheduler.timesteps[start:]
    scheduler.set_begin_index(start)
    cond, uncond = (repeat(sd_conditioning(pipe, text), n) for text in (PROMPT, NEGATIVE))
    image = pipe.image_processor.preprocess(IMAGE, height=SIZE, width=SIZE)
    image_latents = pipe.vae.encode(image).latent_dist.sample(generator) * pipe.vae.config.scaling_factor
    image_latents = image_latents.repeat(n, 1, 1, 1)
    noise = torch.randn(image_latents.shape, generator=generator)
    latents = scheduler.add_noise(image_latents, noise, timesteps[:1].repeat(n))
    nets = getattr(pipe.controlnet, "nets", [pipe.controlnet])
    controls = [
        pipe.control_image_processor.preprocess(c, height=SIZE, width=SIZE).repeat_interleave(n, 0)
        for c in CONTROLS[: len(nets)]
    ]
    for i, t in enumerate(timesteps):
        g = schedule[i]

        def both(value, g=g):
            return torch.cat([value, value]) if g > 1 else value

        model_input = scheduler.scale_model_input(both(latents), t)
        hidden = (cat_conditioning(uncond, cond) if g > 1 else cond)["encoder_hidden_states"]
        down = mid = None
        for net, control in zip(nets, controls, strict=True):
            d, m = net(model_input, t, encoder_hidden_states=hidden, controlnet_cond=both(control),
                       conditioning_scale=0.8, return_dict=False)  # fmt: skip
            down = d if down is None else [a + b for a, b in zip(down, d, strict=True)]
            mid = m if mid is None else mid + m
        eps = pipe.unet(model_input, t, encoder_hidden_states=hidden, down_block_additional_residuals=down,
                        mid_block_additional_residual=mid).sample  # fmt: skip
        if g > 1:
            uncond_eps, cond_eps = eps.chunk(2)
            eps = uncond_eps + g * (cond_eps - uncond_eps)
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def img2img(kind, scheduler="euler"):
    """An SD ControlNet img2img pipeline from the tiny ControlNet pipeline's parts."""
    pipe = StableDiffusionControlNetImg2ImgPipeline(**tiny_sd_pipeline(kind=kind, scheduler=scheduler).components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def controls(pipe):
    nets = getattr(pipe.controlnet, "nets", None)
    return CONTROLS if nets else CONTROLS[0]


RUNS = [("controlnet", case, s) for case in CASES for s in ("euler", "dpm-karras")] + [
    ("multi-controlnet", "starts-on", "euler")
]


@pytest.mark.parametrize(("kind", "case", "scheduler"), RUNS)
def test_controlnet_img2img_guidance_crossing_one_equals_reference_loop(kind, case, scheduler):
    pipe = img2img(kind, scheduler)
    start, *changes = CASES[case]
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start, seed=SEED,
        num_images_per_prompt=2, image=IMAGE, control_image=controls(pipe), strength=STRENGTH,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    assert (run.params["height"], run.params["width"], run.params["steps_run"]) == (SIZE, SIZE, RAN)
    schedule = [start] * RAN
    for step, value in changes:
        schedule[step + 1 :] = [value] * (RAN - step - 1)
    assert run.guidance == schedule and [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(pipe, schedule, 2)
    print(f"{kind} {scheduler} {case}: max difference {(run.latents - expected).abs().max().item():.3g}")
    assert run.latents.shape[0] == 2 and torch.equal(run.latents, expected)
    # Weighting by the call's guidance_scale, as the bare pipeline does, gives other latents.
    assert not torch.allclose(run.latents, reference_loop(pipe, [start] * RAN, 2), atol=1e-3)


def test_controlnet_img2img_branch_equals_a_fresh_run():
    runner = Runner(img2img("controlnet"), cpu_threads=1)
    args = {"num_inference_steps": STEPS, "seed": SEED, "image": IMAGE, "control_image": CONTROLS[0]}
    parent = runner.generate(PROMPT, guidance_scale=5.0, strength=STRENGTH, **args)
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.8] * (RAN - 3)
    fresh = runner.generate(PROMPT, guidance_schedule=child.guidance, strength=STRENGTH, **args)
    assert torch.equal(child.latents, fresh.latents)
    assert not torch.allclose(child.latents, parent.latents, atol=1e-3)


def test_controlnet_loops_that_keep_doubled_tensors_from_callbacks_are_refused():
    """SD and SDXL ControlNet inpainting never take back the ``mask`` and ``masked_image_latents``
    (SDXL's nor ``add_text_embeds``/``add_time_ids``) a step callback returns, and SDXL ControlNet
    img2img hands callbacks ``add_neg_time_ids``, one row per image, that CFG switching would split:
    refused until the runner handles them."""
    sdxl = tiny_sdxl_pipeline().components
    net = ControlNetModel.from_unet(sdxl["unet"], conditioning_embedding_out_channels=(8, 16))
    pipes = [
        StableDiffusionControlNetInpaintPipeline(**tiny_sd_pipeline(kind="controlnet").components),
        StableDiffusionXLControlNetImg2ImgPipeline(**sdxl, controlnet=net),
        StableDiffusionXLControlNetInpaintPipeline(**sdxl, controlnet=net),
    ]
    for pipe in pipes:
        with pytest.raises(TypeError, match=f"^{type(pipe).__name__} .* cannot be steered exactly"):
            Runner(pipe)
