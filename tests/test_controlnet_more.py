"""ControlNet image-to-image and inpainting, SD and SDXL (one ControlNet; two once) steered across
1.0 both ways equal a hand-written loop, exactly. The reference follows the pipelines' ``__call__``
with diffusers' models, schedulers and image processors only (no sdwidget code): the generator's
draws in their order, the CFG batch of every tensor they double (control images, the 9-channel
UNet's mask and masked image latents), the ControlNets' residuals at the pipeline's default scale
summed, the 4-channel inpainting blend, CFG weighted by the step's guidance (sdwidget combines it:
these pipelines weight by their argument).
"""

import copy
import inspect

import diffusers
import pytest
import torch
from conftest import at_step
from diffusers import ControlNetModel
from test_families import CASES, CONTROLS, IMAGE, MASK, NEGATIVE, PROMPT, SEED, SIZE, STEPS, repeat
from test_guidance_oracle import cat_conditioning, sd_conditioning, sdxl_conditioning

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

# kind: (pipeline, strength, inpainting)
KINDS = {
    "img2img": ("StableDiffusionControlNetImg2ImgPipeline", 0.8, False),
    "multi-img2img": ("StableDiffusionControlNetImg2ImgPipeline", 0.8, False),
    "inpaint": ("StableDiffusionControlNetInpaintPipeline", 1.0, True),  # a 9-channel UNet
    "inpaint4": ("StableDiffusionControlNetInpaintPipeline", 1.0, True),
    "sdxl-img2img": ("StableDiffusionXLControlNetImg2ImgPipeline", 0.8, False),
    "sdxl-inpaint": ("StableDiffusionXLControlNetInpaintPipeline", 0.8, True),
}


def build(kind, scheduler="euler"):
    """The tiny SD or SDXL pipeline's parts with one ControlNet (two for ``multi-``) from its 4-channel UNet."""
    parts = (tiny_sdxl_pipeline if kind.startswith("sdxl") else tiny_sd_pipeline)(scheduler=scheduler).components
    nets = [ControlNetModel.from_unet(parts["unet"], conditioning_embedding_out_channels=(8, 16))
            for _ in range(2 if kind.startswith("multi") else 1)]  # fmt: skip
    for param in (param for net in nets for param in net.parameters() if not param.any()):
        torch.nn.init.normal_(param, std=0.05)  # a ControlNet starts at zero: it would show nowhere
    if kind == "inpaint":
        parts["unet"] = tiny_sd_pipeline(kind="inpaint").unet
    pipe = getattr(diffusers, KINDS[kind][0])(**parts, controlnet=nets if len(nets) > 1 else nets[0])
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def reference_loop(pipe, kind, schedule, n):
    _, strength, inpaint = KINDS[kind]
    scale = inspect.signature(type(pipe).__call__).parameters["controlnet_conditioning_scale"].default
    generator = torch.Generator().manual_seed(SEED)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    start = STEPS - int(STEPS * strength)
    timesteps = scheduler.timesteps[start:]
    scheduler.set_begin_index(start)
    conditioning = sdxl_conditioning if kind.startswith("sdxl") else sd_conditioning
    cond, uncond = (repeat(conditioning(pipe, text), n) for text in (PROMPT, NEGATIVE))
    image = pipe.image_processor.preprocess(IMAGE, height=SIZE, width=SIZE)

    def encode(pixels):  # one row per image
        latents = pipe.vae.encode(pixels).latent_dist.sample(generator) * pipe.vae.config.scaling_factor
        return latents.repeat(n, 1, 1, 1)

    side, nine = SIZE // pipe.vae_scale_factor, pipe.unet.config.in_channels == 9
    image_latents = None if kind == "inpaint" else encode(image)
    noise = torch.randn((n, 4, side, side), generator=generator)
    if strength == 1:
        latents = noise * scheduler.init_noise_sigma
    else:
        latents = scheduler.add_noise(image_latents, noise, timesteps[:1].repeat(n))
    if inpaint:
        mask_pixels = pipe.mask_processor.preprocess(MASK, height=SIZE, width=SIZE)
        masked_latents = encode(image * (mask_pixels < 0.5))
        mask = torch.nn.functional.interpolate(mask_pixels, size=(side, side)).repeat(n, 1, 1, 1)
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
        embeddings = cat_conditioning(uncond, cond) if g > 1 else cond
        down = mid = None
        for net, control in zip(nets, controls, strict=True):
            d, m = net(model_input, t, encoder_hidden_states=embeddings["encoder_hidden_states"],
                       controlnet_cond=both(control), conditioning_scale=scale,
                       added_cond_kwargs=embeddings.get("added_cond_kwargs"), return_dict=False)  # fmt: skip
            down = d if down is None else [a + b for a, b in zip(down, d, strict=True)]
            mid = m if mid is None else mid + m
        if nine:
            model_input = torch.cat([model_input, both(mask), both(masked_latents)], dim=1)
        eps = pipe.unet(model_input, t, **embeddings, down_block_additional_residuals=down,
                        mid_block_additional_residual=mid).sample  # fmt: skip
        if g > 1:
            uncond_eps, cond_eps = eps.chunk(2)
            eps = uncond_eps + g * (cond_eps - uncond_eps)
        latents = scheduler.step(eps, t, latents).prev_sample
        if inpaint and not nine:  # outside the mask: the image, noised to the next step's level
            proper = image_latents
            if i < len(timesteps) - 1:
                proper = scheduler.add_noise(image_latents, noise, torch.tensor([timesteps[i + 1]]))
            latents = (1 - mask) * proper + mask * latents
    return latents


pytestmark = pytest.mark.usefixtures("one_thread")


def inputs(kind):
    _, strength, inpaint = KINDS[kind]
    control = CONTROLS if kind.startswith("multi") else CONTROLS[0]
    return {"image": IMAGE, "control_image": control, "strength": strength, **({"mask_image": MASK} if inpaint else {})}


RUNS = [(kind, case, s) for kind in KINDS if kind != "multi-img2img" for case in CASES for s in ("euler", "dpm-karras")]


@pytest.mark.parametrize(("kind", "case", "scheduler"), [*RUNS, ("multi-img2img", "starts-on", "euler")])
def test_controlnet_guidance_crossing_one_equals_reference_loop(kind, case, scheduler):
    pipe = build(kind, scheduler)
    start, *changes = CASES[case]
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=start,
                          seed=SEED, num_images_per_prompt=2, **inputs(kind))  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    ran = int(STEPS * KINDS[kind][1])
    assert (run.params["height"], run.params["width"], run.params["steps_run"]) == (SIZE, SIZE, ran)
    schedule = [start] * ran
    for step, value in changes:
        schedule[step + 1 :] = [value] * (ran - step - 1)
    assert run.guidance == schedule and [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(pipe, kind, schedule, 2)
    print(f"{kind} {scheduler} {case}: max difference {(run.latents - expected).abs().max().item():.3g}")
    assert run.latents.shape[0] == 2 and torch.equal(run.latents, expected)
    # Weighting by the call's guidance_scale, as the bare pipeline does, gives other latents.
    assert not torch.allclose(run.latents, reference_loop(pipe, kind, [start] * ran, 2), atol=1e-3)


@pytest.mark.parametrize("kind", ["img2img", "inpaint4", "sdxl-inpaint"])
def test_controlnet_branch_equals_a_fresh_run(kind):
    pipe = build(kind)
    runner = Runner(pipe, cpu_threads=1)
    args = {"num_inference_steps": STEPS, "seed": SEED, **inputs(kind)}
    parent = runner.generate(PROMPT, guidance_scale=5.0, **args)
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    ran = parent.params["steps_run"]
    assert child.guidance == [5.0] * 3 + [0.8] * (ran - 3)
    fresh = runner.generate(PROMPT, guidance_schedule=child.guidance, **args)
    assert torch.equal(child.latents, fresh.latents)
    assert not torch.allclose(child.latents, parent.latents, atol=1e-3)


def test_guidance_rescale_is_refused_where_sdwidget_combines_cfg():
    pipe = build("sdxl-inpaint")
    with pytest.raises(
        TypeError, match="guidance_rescale cannot be passed to StableDiffusionXLControlNetInpaintPipeline"
    ):
        Runner(pipe).start(PROMPT, guidance_rescale=0.7, **inputs("sdxl-inpaint"))


SAVED = {
    "multi-img2img": ["control_image-0.png", "control_image-1.png", "image.png"],
    "sdxl-inpaint": ["control_image.png", "image.png", "mask_image.png"],
}


@pytest.mark.parametrize("kind", list(SAVED))
def test_a_steered_controlnet_run_replays_from_its_gallery(kind, tmp_path):
    """The init image, mask and control images are saved under inputs/ and come back."""
    runner = Runner(build(kind), cpu_threads=1)
    undo = at_step(runner, 2, lambda run: run.set_guidance(0.8))
    run = runner.generate(PROMPT, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED, **inputs(kind))
    undo()
    assert run.status is RunStatus.FINISHED, run.traceback
    folder = Gallery.from_run(run).save(tmp_path / kind)
    assert sorted(path.name for path in (folder / "inputs").iterdir()) == SAVED[kind]
    again = runner.replay(Gallery.load(folder))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance and torch.equal(again.latents, run.latents)
