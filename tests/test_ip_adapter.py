"""IP-Adapter runs steered across guidance 1.0 both ways equal a hand-written denoising loop.

The reference loop follows ``StableDiffusionPipeline.__call__`` (and SDXL's and SD img2img's, whose
image latents are drawn and noised as in tests/test_families.py) with an IP-Adapter: the image is
encoded by the CLIP image encoder as ``encode_image`` does (zeros for the negative half), repeated
per image, and given to the UNet in ``added_cond_kwargs["image_embeds"]``, doubled ``[negative,
positive]`` only at steps that run CFG. No sdwidget code on that side.
"""

import copy
import warnings

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.callbacks import IPAdapterScaleCutoffCallback
from PIL import Image
from test_guidance_oracle import cat_conditioning, sd_conditioning, sdxl_conditioning
from tiny_ip_adapter import add_ip_adapter

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_sd3_pipeline, tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, SEED, SIZE, N, STRENGTH = 10, 7, 32, 2, 0.8  # SIZE: the SDXL conditioning's time ids are built for it
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"
INIT = Image.fromarray((np.random.RandomState(9).rand(SIZE, SIZE, 3) * 255).astype(np.uint8))  # img2img's
IMAGES = [Image.fromarray((np.random.RandomState(i).rand(40, 48, 3) * 255).astype(np.uint8)) for i in range(2)]
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}
ARGS = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipes():
    """``pipes[family, scheduler, adapters]``: a tiny pipeline (``sdxl`` or one of ``SD_KINDS``) with
    IP-Adapters loaded, built once."""

    class Built(dict):
        def __missing__(self, key):
            family, scheduler, adapters = key
            pipe = (
                tiny_sdxl_pipeline(scheduler=scheduler)
                if family == "sdxl"
                else tiny_sd_pipeline(scheduler=scheduler, kind=family)
            )
            return self.setdefault(key, add_ip_adapter(pipe, adapters))

    return Built()


def schedule_of(case, steps=STEPS):
    start, *changes = CASES[case]
    schedule = [start] * steps
    for step, value in changes:
        schedule[step + 1 :] = [value] * (steps - step - 1)
    return schedule


def repeat(conditioning):
    """Each row ``N`` times in a row, as the pipelines repeat for ``num_images_per_prompt``."""
    if isinstance(conditioning, dict):
        return {key: repeat(value) for key, value in conditioning.items()}
    return conditioning.repeat_interleave(N, 0)


@torch.no_grad()
def reference_loop(pipe, family, images, schedule, cutoff=None, init=None):
    conditioning = sdxl_conditioning if family == "sdxl" else sd_conditioning
    cond, uncond = (repeat(conditioning(pipe, text)) for text in (PROMPT, NEGATIVE))
    positive = []
    for image in images:  # one per adapter: [N, 1, D] CLIP image embeddings, zeros as the negative
        pixels = pipe.feature_extractor(image, return_tensors="pt").pixel_values
        positive.append(pipe.image_encoder(pixels).image_embeds[None].repeat(N, 1, 1))
    doubled = [torch.cat([torch.zeros_like(p), p]) for p in positive]
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    generator = torch.Generator().manual_seed(SEED)
    side = SIZE // pipe.vae_scale_factor
    timesteps, shape = scheduler.timesteps, (N, 4, side, side)
    if init is None:
        latents = torch.randn(shape, generator=generator) * scheduler.init_noise_sigma
    else:  # img2img: the image's latents, noised to the first step's level
        start = STEPS - int(STEPS * STRENGTH)
        timesteps = timesteps[start:]
        scheduler.set_begin_index(start)
        pixels = pipe.image_processor.preprocess(init, height=SIZE, width=SIZE)
        image_latents = pipe.vae.encode(pixels).latent_dist.sample(generator) * pipe.vae.config.scaling_factor
        noise = torch.randn(shape, generator=generator)
        latents = scheduler.add_noise(image_latents.repeat(N, 1, 1, 1), noise, timesteps[:1].repeat(N))
    for i, t in enumerate(timesteps):
        g = schedule[i]
        embeddings, image_embeds = (cat_conditioning(uncond, cond), doubled) if g > 1 else (cond, positive)
        added = {**embeddings.get("added_cond_kwargs", {}), "image_embeds": image_embeds}
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2) if g > 1 else latents, t)
        eps = pipe.unet(model_input, t, embeddings["encoder_hidden_states"], added_cond_kwargs=added).sample
        if g > 1:
            uncond_eps, cond_eps = eps.chunk(2)
            eps = uncond_eps + g * (cond_eps - uncond_eps)
        latents = scheduler.step(eps, t, latents, generator=generator).prev_sample
        if i == cutoff:
            pipe.set_ip_adapter_scale(0.0)
    if cutoff is not None:
        pipe.set_ip_adapter_scale(1.0)
    return latents


def steered(pipe, case, **kwargs):
    runner = Runner(pipe, cpu_threads=1)
    for step, value in CASES[case][1:]:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    run = runner.generate(PROMPT, guidance_scale=CASES[case][0], num_images_per_prompt=N, **ARGS, **kwargs)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.guidance == schedule_of(case, run.params["steps_run"]) and run.latents.shape[0] == N
    return run


RUNS = [("text2img", s, case) for s in ("euler", "dpm-karras") for case in CASES] + [
    (family, "euler", case) for family in ("sdxl", "img2img") for case in CASES
]


@pytest.mark.parametrize(("family", "scheduler", "case"), RUNS)
def test_guidance_crossing_one_matches_reference_loop(family, scheduler, case, pipes):
    pipe = pipes[family, scheduler, 1]
    init = {"image": INIT, "strength": STRENGTH} if family == "img2img" else {}
    run = steered(pipe, case, ip_adapter_image=IMAGES[0], **init)
    schedule = schedule_of(case, run.params["steps_run"])

    def reference(images, schedule):
        return reference_loop(pipe, family, images, schedule, init=init.get("image"))

    expected = reference(IMAGES[:1], schedule)
    print(f"{family} {scheduler} {case}: max difference {(run.latents - expected).abs().max().item():.3g}")
    assert torch.equal(run.latents, expected)
    # The test can tell: another image, or the same one without the crossings, gives other latents.
    assert not torch.allclose(run.latents, reference(IMAGES[1:2], schedule), atol=1e-3)
    assert not torch.allclose(run.latents, reference(IMAGES[:1], [5.0] * len(schedule)), atol=1e-3)


def test_embeddings_given_and_two_adapters_match_reference_loop(pipes):
    pipe = pipes["text2img", "euler", 2]
    embeds = pipe.prepare_ip_adapter_image_embeds(IMAGES[:2], None, "cpu", 1, True)  # [negative, positive] each
    from_embeds = steered(pipe, "starts-off", ip_adapter_image_embeds=embeds)
    from_images = steered(pipe, "starts-off", ip_adapter_image=IMAGES[:2])
    expected = reference_loop(pipe, "text2img", IMAGES[:2], schedule_of("starts-off"))
    assert torch.equal(from_embeds.latents, expected) and torch.equal(from_images.latents, expected)


def test_scale_cutoff_callback_composes_and_ends_with_its_run(pipes):
    pipe = pipes["text2img", "dpm-karras", 1]
    cutoff = IPAdapterScaleCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=3)
    run = steered(pipe, "starts-on", ip_adapter_image=IMAGES[0], callbacks=[cutoff])
    expected = reference_loop(pipe, "text2img", IMAGES[:1], schedule_of("starts-on"), cutoff=3)
    assert torch.equal(run.latents, expected)
    assert not torch.allclose(run.latents, reference_loop(pipe, "text2img", IMAGES[:1], schedule_of("starts-on")))
    # The adapter's scale is back at 1.0 for the next run (diffusers' callback leaves it at 0.0).
    assert torch.equal(steered(pipe, "starts-on", ip_adapter_image=IMAGES[0], callbacks=[cutoff]).latents, expected)


def test_branch_from_a_middle_step_equals_a_fresh_run(pipes):
    runner = Runner(pipes["text2img", "dpm-karras", 1], cpu_threads=1)
    args = {**ARGS, "num_images_per_prompt": N, "ip_adapter_image": IMAGES[0]}
    cutoff = IPAdapterScaleCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=6)
    parent = runner.generate(PROMPT, guidance_scale=5.0, callbacks=[cutoff], **args)
    child = runner.branch(parent, 4, guidance_scale=0.8)  # the IP-Adapter image and the callback go with it
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 4 + [0.8] * (STEPS - 4)
    fresh = runner.generate(PROMPT, guidance_schedule=child.guidance, callbacks=[cutoff], **args)
    assert torch.equal(child.latents, fresh.latents)
    assert not torch.allclose(child.latents, parent.latents, atol=1e-3)


@pytest.mark.parametrize("adapters", [1, 2])
def test_gallery_replay_equals_the_original_run(adapters, pipes, tmp_path):
    pipe = pipes["text2img", "euler", adapters]
    image = IMAGES[0] if adapters == 1 else IMAGES[:2]
    run = steered(pipe, "starts-on", ip_adapter_image=image)
    folder = Gallery.from_run(run).save(tmp_path / "g")
    names = sorted(path.name for path in (folder / "inputs").iterdir())
    assert names == (
        ["ip_adapter_image.png"] if adapters == 1 else ["ip_adapter_image-0.png", "ip_adapter_image-1.png"]
    )
    replayed = Runner(pipe, cpu_threads=1).replay(Gallery.load(folder))
    assert replayed.wait(60) and replayed.status is RunStatus.FINISHED, replayed.traceback
    assert replayed.guidance == run.guidance and torch.equal(replayed.latents, run.latents)


def test_a_replay_on_another_adapter_scale_says_so(pipes, tmp_path):
    """The scale is the pipe's state (``set_ip_adapter_scale``), not an argument: it is recorded,
    and a replay on a pipe set otherwise warns, naming both."""
    pipe = pipes["text2img", "euler", 1]
    run = steered(pipe, "starts-on", ip_adapter_image=IMAGES[0])
    assert run.params["ip_adapter_scale"] and {tuple(s) for s in run.params["ip_adapter_scale"]} == {(1.0,)}
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    runner = Runner(pipe, cpu_threads=1)
    pipe.set_ip_adapter_scale(0.4)
    try:
        with pytest.warns(UserWarning, match=r"IP-Adapter scales \[1.0\], this pipeline's are \[0.4\]"):
            differs = runner.replay(loaded)
        assert differs.wait(60) and not torch.equal(differs.latents, run.latents)
    finally:
        pipe.set_ip_adapter_scale(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the same scale: no warning, and the same image
        same = runner.replay(loaded)
    assert same.wait(60) and torch.equal(same.latents, run.latents)


def test_refused_at_start_in_the_callers_thread(pipes, sd_pipe):
    runner = Runner(pipes["text2img", "euler", 1])
    with pytest.raises(ValueError, match=r"StableDiffusionPipeline has 1 IP-Adapter\(s\) loaded.*unload_ip_adapter"):
        runner.start(PROMPT)
    embeds = [torch.zeros(1, 1, 16)]  # the positive half alone: guidance could not be raised past 1.0 later
    bad = {
        r"2 rows \[negative, positive\]": {"ip_adapter_image_embeds": embeds},
        "not both": {"ip_adapter_image": IMAGES[0], "ip_adapter_image_embeds": embeds * 2},
        "one image .* per adapter: 1, got 2": {"ip_adapter_image": IMAGES[:2]},
    }
    for message, kwargs in bad.items():
        with pytest.raises(ValueError, match=message):
            runner.start(PROMPT, **kwargs)
    with pytest.raises(ValueError, match="StableDiffusionPipeline has no IP-Adapter loaded"):
        Runner(sd_pipe).start(PROMPT, ip_adapter_image=IMAGES[0])
    with pytest.raises(TypeError, match="ip_adapter_image cannot be steered: .* on UNet pipelines"):
        Runner(tiny_sd3_pipeline()).start(PROMPT, ip_adapter_image=IMAGES[0])
    assert runner.run is None  # nothing was started
