"""``steps_run`` counts the denoising loop's iterations exactly: second-order schedulers (Heun,
KDPM2: about two per step), img2img's ``strength`` (``timesteps[t_start × order:]``), SDXL's
``denoising_end`` and ``denoising_start``. Guidance schedules of that length are applied per
iteration, checked against a reference loop written from diffusers' pipelines (no sdwidget code).
"""

import copy
import json

import diffusers
import pytest
import torch
from test_families import IMAGE, repeat
from test_guidance_oracle import guided_eps, sd_conditioning, sdxl_conditioning

from sdwidget import Runner, RunStatus
from sdwidget.core.inputs import steps_run
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, SEED, SIZE = 5, 7, 32
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"


def with_scheduler(pipe, name):
    pipe.scheduler = getattr(diffusers, name).from_config(pipe.scheduler.config)
    return pipe


pytestmark = pytest.mark.usefixtures("one_thread")


@torch.no_grad()
def reference_loop(pipe, schedule, n, strength=None, end=None):
    """SD/SDXL text-to-image, or SD img2img with ``strength``, as their ``__call__`` runs them."""
    generator = torch.Generator().manual_seed(SEED)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    timesteps, side = scheduler.timesteps, SIZE // pipe.vae_scale_factor
    conditioning = sdxl_conditioning if hasattr(pipe, "text_encoder_2") else sd_conditioning
    cond, uncond = (repeat(conditioning(pipe, text), n) for text in (PROMPT, NEGATIVE))
    if strength is not None:  # get_timesteps: whole steps cut, each `order` timesteps long
        begin = (STEPS - int(STEPS * strength)) * scheduler.order
        timesteps = timesteps[begin:]
        scheduler.set_begin_index(begin)
        pixels = pipe.image_processor.preprocess(IMAGE)
        image = pipe.vae.encode(pixels).latent_dist.sample(generator) * pipe.vae.config.scaling_factor
        noise = torch.randn((n, 4, side, side), generator=generator)
        latents = scheduler.add_noise(image.repeat(n, 1, 1, 1), noise, timesteps[:1].repeat(n))
    else:
        latents = torch.randn((n, 4, side, side), generator=generator) * scheduler.init_noise_sigma
    if end is not None:  # SDXL's denoising_end keeps the timesteps at or above the cutoff
        timesteps = timesteps[: int((timesteps >= round(1000 - end * 1000)).sum())]
    assert len(timesteps) == len(schedule)
    extra = {"generator": generator} if "generator" in scheduler.step.__code__.co_varnames else {}
    for t, g in zip(timesteps, schedule, strict=True):
        eps = guided_eps(pipe, scheduler, latents, t, cond, uncond, g)
        latents = scheduler.step(eps, t, latents, **extra).prev_sample
    return latents


def crossing(ran, start):
    """``start``, then across 1.0 at a third of the run and back at two thirds."""
    low, high = (0.8, 6.5) if start > 1 else (4.0, 0.5)
    return [start if i < ran // 3 else low if i < 2 * ran // 3 else high for i in range(ran)]


CASES = [  # (pipeline, scheduler, pipeline arguments, expected steps_run, start guidance, batch)
    ("text2img", "HeunDiscreteScheduler", {}, 2 * STEPS - 1, 5.0, 1),
    ("text2img", "HeunDiscreteScheduler", {}, 2 * STEPS - 1, 1.0, 2),
    ("img2img", "HeunDiscreteScheduler", {"strength": 0.6}, 2 * 3 - 1, 5.0, 2),
    ("img2img", "HeunDiscreteScheduler", {"strength": 0.6}, 2 * 3 - 1, 1.0, 1),
    ("text2img", "KDPM2AncestralDiscreteScheduler", {}, 2 * STEPS - 1, 1.0, 2),
    ("sdxl", "HeunDiscreteScheduler", {"denoising_end": 0.7}, 5, 1.0, 2),  # 999 749 749 499 499 | 249 ...
    ("sdxl", "EulerDiscreteScheduler", {"denoising_end": 0.6}, 3, 5.0, 1),  # 999 749 499 | 249 0
]


@pytest.mark.parametrize(("kind", "scheduler", "extra", "ran", "start", "n"), CASES)
def test_schedule_per_iteration_matches_reference_loop(kind, scheduler, extra, ran, start, n):
    pipe = with_scheduler(tiny_sdxl_pipeline() if kind == "sdxl" else tiny_sd_pipeline(kind=kind), scheduler)
    extra = {**extra, "image": IMAGE} if kind == "img2img" else extra
    size = {} if kind == "img2img" else {"height": SIZE, "width": SIZE}  # img2img takes the image's
    assert steps_run(pipe, STEPS, extra) == ran
    schedule = crossing(ran, start)
    run = Runner(pipe, cpu_threads=1).generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_schedule=schedule, seed=SEED,
        num_images_per_prompt=n, **size, **extra,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.params["steps_run"] == len(run.steps) == pipe.num_timesteps == ran
    assert run.guidance == schedule and [s.cfg for s in run.steps] == [g > 1 for g in schedule]
    expected = reference_loop(pipe, schedule, n, extra.get("strength"), extra.get("denoising_end"))
    assert run.latents.shape[0] == n and (run.latents - expected).abs().max().item() == 0
    # The same loop without the crossings gives other latents: the test can tell them apart.
    plain = reference_loop(pipe, [start] * ran, n, extra.get("strength"), extra.get("denoising_end"))
    assert not torch.allclose(run.latents, plain, atol=1e-3)


XL_COUNTS = [  # (pipeline arguments, scheduler, loop iterations counted by hand from the timesteps)
    ({"strength": 0.6}, "EulerDiscreteScheduler", 3),
    ({"denoising_start": 0.5}, "EulerDiscreteScheduler", 3),  # 999 749 | 499 249 0
    ({"denoising_start": 0.5}, "HeunDiscreteScheduler", 7),  # 6 timesteps below 500, even: one more
    ({"denoising_start": 0.3, "denoising_end": 0.9}, "EulerDiscreteScheduler", 2),  # 999 749 | 499 249 | 0
    ({"strength": 0.6, "denoising_end": 0.8}, "HeunDiscreteScheduler", 3),  # [4:] = 499 249 249 | 0 0
    ({"strength": 1.0}, "DPMSolverSinglestepScheduler", STEPS),
]


@pytest.mark.parametrize(("extra", "scheduler", "ran"), XL_COUNTS)
def test_sdxl_img2img_counts_the_iterations_that_run(extra, scheduler, ran):
    base = tiny_sdxl_pipeline()
    pipe = with_scheduler(diffusers.StableDiffusionXLImg2ImgPipeline(**base.components), scheduler)
    args = {"strength": 0.99, **extra, "image": IMAGE}  # strength is ignored with denoising_start
    assert steps_run(pipe, STEPS, args) == ran
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, num_inference_steps=STEPS, seed=SEED, **args)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.params["steps_run"] == len(run.steps) == pipe.num_timesteps == ran


BAD = [
    ({"denoising_end": 1}, TypeError, "denoising_end must be a float between 0 and 1 (e.g. 0.8), got 1"),
    ({"denoising_start": "0.5"}, TypeError, "denoising_start must be a float between 0 and 1"),
    ({"denoising_end": 1.0}, ValueError, "denoising_end must be more than 0 and less than 1, got 1"),
    ({"denoising_start": float("nan")}, ValueError, "denoising_start must be more than 0 and less than 1"),
    ({"denoising_start": 0.8, "denoising_end": 0.8}, ValueError, "denoising_start (0.8) must be less than"),
    ({"denoising_end": 0.8}, ValueError, "5 × 0.3, denoising_end=0.8 leaves no step to run"),  # strength 0.3
    ({"strength": 0.1}, ValueError, "num_inference_steps × strength = 5 × 0.1 leaves no step to run"),
]


@pytest.mark.parametrize(("extra", "error", "message"), BAD)
def test_bad_denoising_fractions_are_refused_before_the_run(extra, error, message):
    pipe = diffusers.StableDiffusionXLImg2ImgPipeline(**tiny_sdxl_pipeline().components)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Runner(pipe).start(PROMPT, num_inference_steps=STEPS, image=IMAGE, **extra)


def test_a_gallery_record_holds_a_second_order_run_of_the_most_steps():
    """1,000 Heun steps run 1,999 times round the loop: a record of that many steps is valid,
    one more is not (num_inference_steps stays capped at 1,000)."""
    from sdwidget import Gallery, Runner
    from sdwidget.core import validate
    from sdwidget.gallery import schema

    run = Runner(tiny_sd_pipeline(scheduler="euler")).generate("a", num_inference_steps=2, seed=1)
    meta = json.loads(json.dumps(Gallery.from_run(run).metadata()))
    longest = validate.MAX_LOOP
    step = meta["steps"][-1]
    meta["steps"] = [{**step, "step": i, "total": longest} for i in range(longest)]
    meta["params"].update(num_inference_steps=1000, steps_run=longest, guidance_schedule=[5.0] * longest)
    schema.check(meta, "a Heun run")
    meta["params"]["steps_run"] = longest + 1
    with pytest.raises(ValueError, match="steps_run"):
        schema.check(meta, "too long a run")
