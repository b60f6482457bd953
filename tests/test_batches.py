"""Batches: a list of prompts and ``num_images_per_prompt`` steered across 1.0 both ways, with a
prompt edit for the whole batch, equal a hand-written denoising loop over the same batch.

The reference uses the conditioning helpers of ``test_guidance_oracle`` (torch, transformers and
diffusers' models and schedulers only; no sdwidget code). Rows are laid out as the pipelines
repeat them: each prompt ``num_images_per_prompt`` times in a row.
"""

import copy

import pytest
import torch
from conftest import at_step
from test_guidance_oracle import guided_eps, sd_conditioning, sdxl_conditioning

from sdwidget import Gallery, Runner, RunStatus

STEPS, SEED, SIZE = 8, 3, 32
PROMPTS, NEGATIVES, OTHER = ["a red star", "a blue ring"], ["blurry", "green"], "a yellow moon"


def rows(pipe, conditioning, texts, batch):
    """``texts`` (one prompt or a list) encoded together, as the pipeline does, then each row
    repeated to ``batch`` rows in a row; SDXL's one time-id row goes to every image."""

    def repeat(value):
        if isinstance(value, dict):
            return {key: repeat(item) for key, item in value.items()}
        return value.repeat_interleave(batch // value.shape[0], dim=0)

    return repeat(conditioning(pipe, texts))


@torch.no_grad()
def reference_loop(pipe, conditioning, guidance, prompts, negatives, n):
    """``prompts``: per step, the prompts (one for the whole batch, or a list) it is conditioned on."""
    batch = len(negatives) * n
    uncond = rows(pipe, conditioning, negatives, batch)
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    latents = torch.randn((batch, 4, side, side), generator=torch.Generator().manual_seed(SEED))
    latents = latents * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        cond, g = rows(pipe, conditioning, prompts[i], batch), guidance[i]
        eps = guided_eps(pipe, scheduler, latents, t, cond, uncond, g)
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_batch_steered_and_edited_matches_reference_loop(family, n, sd_pipe, sdxl_pipe, tmp_path):
    pipe, conditioning = (sd_pipe, sd_conditioning) if family == "sd" else (sdxl_pipe, sdxl_conditioning)
    runner = Runner(pipe, cpu_threads=1)
    at_step(runner, 1, lambda run: run.set_guidance(0.8))  # CFG off for steps 2..
    at_step(runner, 2, lambda run: runner.set_prompt(OTHER))  # one prompt for the whole batch from step 3
    at_step(runner, 4, lambda run: run.set_guidance(6.0))  # and CFG back on from step 5
    run = runner.generate(
        PROMPTS, negative_prompt=NEGATIVES, num_inference_steps=STEPS, guidance_scale=5.0, seed=SEED,
        height=SIZE, width=SIZE, num_images_per_prompt=n,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    guidance = [5.0] * 2 + [0.8] * 3 + [6.0] * 3
    assert run.guidance == guidance and run.prompts == [{"step": 3, "prompt": OTHER, "negative_prompt": None}]
    assert run.params["prompt"] == PROMPTS and run.params["pipe_kwargs"] == {"num_images_per_prompt": n}
    prompts = [PROMPTS] * 3 + [OTHER] * 5
    expected = reference_loop(pipe, conditioning, guidance, prompts, NEGATIVES, n)
    difference = (run.latents - expected).abs().max().item()
    print(f"{family} batch {2 * n}: max difference {difference:.3g}")
    assert run.latents.shape[0] == 2 * n and difference <= 1e-5
    assert not torch.allclose(run.latents[0], run.latents[-1], atol=1e-3), "the rows are different images"
    unedited = reference_loop(pipe, conditioning, guidance, [PROMPTS] * STEPS, NEGATIVES, n)
    assert not torch.allclose(run.latents, unedited, atol=1e-3), "the edit shows in the result"
    assert len(run.images) == 2 * n and run.image is run.images[0]
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert [image.tobytes() for image in loaded.images] == [image.tobytes() for image in run.images]
    again = runner.replay(loaded)
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert torch.equal(again.latents, run.latents), "a gallery replays the batch, prompts and edit included"


def test_batches_are_checked(sd_pipe):
    runner = Runner(sd_pipe)
    with pytest.raises(ValueError, match="num_images_per_prompt must be between 1 and 64"):
        runner.start("a", num_images_per_prompt=0)
    with pytest.raises(TypeError, match="num_images_per_prompt must be an integer"):
        runner.start("a", num_images_per_prompt=2.0)
    with pytest.raises(ValueError, match="prompt must hold 1 to 64 prompts"):
        runner.start([])
    with pytest.raises(TypeError, match=r"prompt\[1\] must be a string"):
        runner.start(["a", 3])
    with pytest.raises(ValueError, match="negative_prompt must be one string, or a list with one per prompt"):
        runner.start(["a", "b"], negative_prompt=["c"])
