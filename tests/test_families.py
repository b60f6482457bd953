"""Img2img, inpainting (9- and 4-channel UNets) and ControlNet (one and two) steered across 1.0
both ways equal a hand-written denoising loop, for one image and for two per prompt.

The reference loop below follows each pipeline's ``__call__`` with torch, diffusers' models,
schedulers and image processors only (no sdwidget code): the same generator draws in the same
order (VAE samples, noise), the CFG batch ``[unconditional, conditional]`` of every tensor the
pipeline doubles (mask, masked image latents, control images), and the 4-channel inpainting
blend of the re-noised image outside the mask after every step.
"""

import copy
import re

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers import (
    ControlNetModel,
    StableDiffusionXLControlNetPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
)
from PIL import Image
from test_guidance_oracle import cat_conditioning, sd_conditioning, sdxl_conditioning

from sdwidget import Runner, RunStatus
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, SEED, SIZE, STRENGTH = 10, 7, 32, 0.8
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"
IMAGE = Image.fromarray((np.random.RandomState(0).rand(SIZE, SIZE, 3) * 255).astype(np.uint8))
MASK = Image.fromarray(((np.arange(SIZE) > SIZE // 3)[None, :].repeat(SIZE, 0) * 255).astype(np.uint8))
CONTROLS = [Image.fromarray((np.random.RandomState(i).rand(SIZE, SIZE, 3) * 255).astype(np.uint8)) for i in (1, 2)]
INPUTS = {
    "img2img": {"image": IMAGE, "strength": STRENGTH},
    "inpaint": {"image": IMAGE, "mask_image": MASK},
    "inpaint4": {"image": IMAGE, "mask_image": MASK},
    "controlnet": {"image": CONTROLS[0]},
    "multi-controlnet": {"image": CONTROLS},
    "sdxl-img2img": {"image": IMAGE, "strength": STRENGTH},
    "sdxl-inpaint": {"image": IMAGE, "mask_image": MASK, "strength": STRENGTH},  # 4-channel UNet
    "sdxl-controlnet": {"image": CONTROLS[0]},  # weights CFG by its argument: sdwidget combines it
    "sdxl-multi-controlnet": {"image": CONTROLS},
}
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}


def repeat(conditioning, n):
    """Each row ``n`` times in a row, as the pipelines repeat for ``num_images_per_prompt``."""
    if isinstance(conditioning, dict):
        return {key: repeat(value, n) for key, value in conditioning.items()}
    return conditioning.repeat_interleave(n, 0)


@torch.no_grad()
def reference_loop(pipe, kind, schedule, n):
    generator = torch.Generator().manual_seed(SEED)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    timesteps, shape = scheduler.timesteps, (n, 4, SIZE // pipe.vae_scale_factor, SIZE // pipe.vae_scale_factor)
    conditioning = sdxl_conditioning if kind.startswith("sdxl") else sd_conditioning
    cond, uncond = (repeat(conditioning(pipe, text), n) for text in (PROMPT, NEGATIVE))
    image = pipe.image_processor.preprocess(IMAGE, height=SIZE, width=SIZE)

    def encode(pixels):
        return pipe.vae.encode(pixels).latent_dist.sample(generator) * pipe.vae.config.scaling_factor

    if "strength" in INPUTS[kind]:  # image latents, then noise, mixed at the first step's level
        start = STEPS - int(STEPS * STRENGTH)
        timesteps = timesteps[start:]
        scheduler.set_begin_index(start)
        image_latents = encode(image).repeat(n, 1, 1, 1)
        noise = torch.randn(shape, generator=generator)
        latents = scheduler.add_noise(image_latents, noise, timesteps[:1].repeat(n))
    else:
        image_latents = encode(image).repeat(n, 1, 1, 1) if kind == "inpaint4" else None
        noise = torch.randn(shape, generator=generator)
        latents = noise * scheduler.init_noise_sigma
    if "mask_image" in INPUTS[kind]:
        mask_pixels = pipe.mask_processor.preprocess(MASK, height=SIZE, width=SIZE)
        masked_latents = encode(image * (mask_pixels < 0.5)).repeat(n, 1, 1, 1)
        mask = torch.nn.functional.interpolate(mask_pixels, size=shape[2:]).repeat(n, 1, 1, 1)
    net = getattr(pipe, "controlnet", None)
    nets = getattr(net, "nets", [net] if net is not None else [])
    controls = [
        pipe.control_image_processor.preprocess(c, height=SIZE, width=SIZE).repeat_interleave(n, 0)
        for c in CONTROLS[: len(nets)]
    ]
    for i, t in enumerate(timesteps):
        g = schedule[i]

        def both(value, g=g):
            return torch.cat([value, value]) if g > 1 else value

        model_input = scheduler.scale_model_input(both(latents), t)
        embeddings = cat_conditioning(uncond, cond) if g > 1 else cond
        if kind == "inpaint":
            model_input = torch.cat([model_input, both(mask), both(masked_latents)], dim=1)
        residuals = {}
        for net, control in zip(nets, controls, strict=True):  # MultiControlNetModel sums each net's residuals
            hidden = embeddings["encoder_hidden_states"]
            down, mid = net(model_input, t, encoder_hidden_states=hidden, controlnet_cond=both(control),
                            conditioning_scale=1.0, added_cond_kwargs=embeddings.get("added_cond_kwargs"),
                            return_dict=False)  # fmt: skip
            if residuals:
                down = [a + b for a, b in zip(residuals["down_block_additional_residuals"], down, strict=True)]
                mid = residuals["mid_block_additional_residual"] + mid
            residuals = {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}
        eps = pipe.unet(model_input, t, **embeddings, **residuals).sample
        if g > 1:
            uncond_eps, cond_eps = eps.chunk(2)
            eps = uncond_eps + g * (cond_eps - uncond_eps)
        extra = {"generator": generator} if "generator" in scheduler.step.__code__.co_varnames else {}
        latents = scheduler.step(eps, t, latents, **extra).prev_sample
        if kind in ("inpaint4", "sdxl-inpaint"):  # outside the mask: the image, noised to the next step's level
            proper = image_latents
            if i < len(timesteps) - 1:
                proper = scheduler.add_noise(image_latents, noise, torch.tensor([timesteps[i + 1]]))
            latents = (1 - mask) * proper + mask * latents
    return latents


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipes():
    """Each kind's pipeline with Euler, and with other schedulers on request (``pipes[kind, name]``)."""

    class Built(dict):
        def __missing__(self, key):
            kind, scheduler = key if isinstance(key, tuple) else (key, "euler")
            if not kind.startswith("sdxl"):
                return self.setdefault(key, tiny_sd_pipeline(kind=kind, scheduler=scheduler))
            sdxl = tiny_sdxl_pipeline(scheduler=scheduler).components
            if kind.endswith("controlnet"):
                count = 2 if "multi" in kind else 1
                nets = [ControlNetModel.from_unet(sdxl["unet"], conditioning_embedding_out_channels=(8, 16))
                        for _ in range(count)]  # fmt: skip
                for param in (param for net in nets for param in net.parameters() if not param.any()):
                    torch.nn.init.normal_(param, std=0.05)  # a ControlNet starts at zero: it would show nowhere
                controlnet = nets if count > 1 else nets[0]
                return self.setdefault(key, StableDiffusionXLControlNetPipeline(**sdxl, controlnet=controlnet))
            kinds = {"sdxl-img2img": StableDiffusionXLImg2ImgPipeline, "sdxl-inpaint": StableDiffusionXLInpaintPipeline}
            return self.setdefault(key, kinds[kind](**sdxl))

    return Built()


# Every kind, case and batch with Euler; multistep (DPM++ 2M Karras) and ancestral (Euler a,
# which draws noise from the run's generator every step) for each kind too.
RUNS = [(kind, case, n, "euler") for kind in INPUTS for case in CASES for n in (1, 2)] + [
    (kind, "starts-off", 2, scheduler) for kind in INPUTS for scheduler in ("dpm-karras", "euler-a")
]


@pytest.mark.parametrize(("kind", "case", "n", "scheduler"), RUNS)
def test_guidance_crossing_one_matches_reference_loop(kind, case, n, scheduler, pipes):
    pipe = pipes[kind, scheduler]
    start, *changes = CASES[case]
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start, seed=SEED,
        num_images_per_prompt=n, **INPUTS[kind],
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    ran = int(STEPS * STRENGTH) if "strength" in INPUTS[kind] else STEPS
    assert (run.params["height"], run.params["width"], run.params["steps_run"]) == (SIZE, SIZE, ran)
    schedule = [start] * ran
    for step, value in changes:
        schedule[step + 1 :] = [value] * (ran - step - 1)
    assert run.guidance == schedule and [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(pipe, kind, schedule, n)
    difference = (run.latents - expected).abs().max().item()
    print(f"{kind} {scheduler} {case} n={n}: max difference {difference:.3g}")
    assert run.latents.shape[0] == n and difference <= 1e-5
    # The same loop without the crossings gives other latents: the test can tell them apart.
    assert not torch.allclose(run.latents, reference_loop(pipe, kind, [start] * ran, n), atol=1e-3)


def refused_pipelines():
    """Tiny pipelines built from configs (no weights loaded, text encoders left out: refusal
    happens before any is used)."""
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        FluxImg2ImgPipeline,
        FluxTransformer2DModel,
        SD3Transformer2DModel,
        StableDiffusion3Img2ImgPipeline,
        StableDiffusionPAGPipeline,
        StableDiffusionPanoramaPipeline,
        UNet2DConditionModel,
    )  # fmt: skip

    none = dict.fromkeys(("vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2"))
    sd3 = SD3Transformer2DModel(
        sample_size=8, patch_size=1, in_channels=4, out_channels=4, num_layers=1, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=16, caption_projection_dim=16, pooled_projection_dim=16,
    )  # fmt: skip
    flux = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8],
    )  # fmt: skip
    sd = tiny_sd_pipeline()
    lcm = dict(sd.components, unet=UNet2DConditionModel(**{**sd.unet.config, "time_cond_proj_dim": 8}))
    return {
        "StableDiffusion3Img2ImgPipeline has no unet (it denoises with a transformer)": (
            StableDiffusion3Img2ImgPipeline(
                transformer=sd3,
                scheduler=FlowMatchEulerDiscreteScheduler(),
                text_encoder_3=None,
                tokenizer_3=None,
                **none,
            )
        ),  # fmt: skip
        "FluxImg2ImgPipeline has no unet (it denoises with a transformer)": FluxImg2ImgPipeline(
            transformer=flux, scheduler=FlowMatchEulerDiscreteScheduler(), **none
        ),
        "StableDiffusionPanoramaPipeline computes classifier-free guidance from its guidance_scale argument": (
            StableDiffusionPanoramaPipeline(**sd.components)
        ),
        "StableDiffusionPAGPipeline has a denoising loop sdwidget has not checked": StableDiffusionPAGPipeline(
            **sd.components
        ),
        "StableDiffusionPipeline's UNet takes guidance as an embedding computed once": type(sd)(**lcm),
    }


def test_pipelines_that_cannot_be_steered_exactly_are_refused_up_front():
    for message, pipe in refused_pipelines().items():
        with pytest.raises(TypeError, match=re.escape(message)) as refused:
            Runner(pipe)
        assert "; sdwidget steers Stable Diffusion 1.x/2.x and SDXL text-to-image" in str(refused.value)


def test_guess_mode_needs_cfg_at_the_start(pipes):
    runner = Runner(pipes["controlnet"])
    with pytest.raises(ValueError, match="guess_mode=True needs guidance above 1 at the start"):
        runner.start("a", image=CONTROLS[0], guess_mode=True, guidance_scale=1.0)


@pytest.mark.parametrize("kind", ["img2img", "inpaint4", "controlnet", "sdxl-inpaint", "sdxl-controlnet"])
def test_branch_across_one_equals_a_fresh_run(kind, pipes):
    runner = Runner(pipes[kind], cpu_threads=1)
    args = {"num_inference_steps": STEPS, "seed": SEED, **INPUTS[kind]}
    parent = runner.generate(PROMPT, guidance_scale=5.0, **args)
    child = runner.branch(parent, 3, guidance_scale=0.8)  # the run's image arguments go with it
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    ran = parent.params["steps_run"]
    assert child.guidance == [5.0] * 3 + [0.8] * (ran - 3)
    fresh = runner.generate(PROMPT, guidance_schedule=child.guidance, **args)
    assert torch.equal(child.latents, fresh.latents)
