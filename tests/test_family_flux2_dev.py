"""FLUX.2 [dev] steered by hand equals a hand-written denoising loop, bit for bit; and its runs as a
user keeps them: the pipeline's own output at constant guidance, a gallery replay, a branch, the
last step's decode through its VAE's batch-norm statistics and 2×2 patches; and what is refused.

The reference loop follows ``Flux2Pipeline.__call__`` with diffusers' own pieces only (the
pipeline's ``encode_prompt``, ``prepare_latents`` and latent (un)packing, the scheduler, the
transformer; no sdwidget code): one transformer call a step, its guidance input built as the
pipeline builds it, ``torch.full([1], g).expand(rows)``, from the step's own value.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.flux2.pipeline_flux2 import compute_empirical_mu, retrieve_timesteps
from test_family_flux2 import EDIT, PROMPT, SEED, SIZE, STEPS, TOKENS, curve, prompts_of

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing.flux2_dev import tiny_flux2_dev_pipeline

START, CHANGES = 4.0, [(2, 0.5), (5, 7.0)]  # distilled guidance: no off value, so 0.5 is as real as 7

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_flux2_dev_pipeline()


def as_image(pipe, latents):
    """``Flux2Pipeline.__call__``'s own steps before its decode: tokens to a grid, batch-norm statistics, patches."""
    side = SIZE // pipe.vae_scale_factor // 2
    ids = pipe._prepare_latent_ids(torch.zeros(latents.shape[0], 1, side, side))
    grid = pipe._unpack_latents_with_ids(latents, ids)
    bn = pipe.vae.bn
    std = torch.sqrt(bn.running_var.view(1, -1, 1, 1) + pipe.vae.config.batch_norm_eps)
    return pipe._unpatchify_latents(grid * std + bn.running_mean.view(1, -1, 1, 1))


@torch.no_grad()
def reference(pipe, guidance, n, prompts):
    """``guidance[i]``, ``prompts[i]``: step i's distilled guidance and prompt; ``n`` images of it."""
    embeds = {
        text: pipe.encode_prompt(prompt=text, device="cpu", num_images_per_prompt=n, max_sequence_length=TOKENS)
        for text in set(prompts)
    }
    generator = torch.Generator().manual_seed(SEED)
    latents, latent_ids = pipe.prepare_latents(n, 8, SIZE, SIZE, torch.float32, "cpu", generator)
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = compute_empirical_mu(latents.shape[1], STEPS)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        prompt_embeds, text_ids = embeds[prompts[i]]
        out = pipe.transformer(
            hidden_states=latents, timestep=t.expand(n).to(latents.dtype) / 1000,
            guidance=torch.full([1], guidance[i], dtype=torch.float32).expand(n), encoder_hidden_states=prompt_embeds,
            txt_ids=text_ids, img_ids=latent_ids, joint_attention_kwargs=None, return_dict=False,
        )[0][:, : latents.size(1) :]  # fmt: skip
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return as_image(pipe, latents)


def generate(runner, **kwargs):
    args = {"num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE, "max_sequence_length": TOKENS}
    run = runner.generate(PROMPT, **{**args, **kwargs})
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


def steer(pipe, n, edit_at=None):
    runner = Runner(pipe, cpu_threads=1)
    for step, value in CHANGES:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    if edit_at is not None:
        at_step(runner, edit_at, lambda run: runner.set_prompt(EDIT))
    run = generate(runner, guidance_scale=START, num_images_per_prompt=n)
    assert run.latents.shape == (n, 8, 16, 16) and len(run.images) == n
    assert run.guidance == curve(START, CHANGES) and not any(step.cfg for step in run.steps)
    return run


def differences(run, guidance, n, prompts, pipe):
    """(the largest difference from the reference, from the unsteered one), printed for the report."""
    steered = (run.latents - reference(pipe, guidance, n, prompts)).abs().max().item()
    unsteered = (run.latents - reference(pipe, [START] * STEPS, n, prompts_of(None))).abs().max().item()
    print(f"max |runner - reference| = {steered}, max |runner - unsteered reference| = {unsteered}")
    return steered, unsteered


@pytest.mark.parametrize("n", [1, 2])
def test_dev_guidance_changed_twice_matches_reference_loop(pipe, n):
    run = steer(pipe, n)
    guidance = curve(START, CHANGES)
    assert torch.equal(run.latents, reference(pipe, guidance, n, prompts_of(None)))
    steered, unsteered = differences(run, guidance, n, prompts_of(None), pipe)
    assert steered == 0 and unsteered > 1e-3


def test_a_prompt_edit_mid_run(pipe):
    edit_at = 3
    run = steer(pipe, 2, edit_at=edit_at)
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": EDIT, "negative_prompt": None}
    guidance = curve(START, CHANGES)
    assert torch.equal(run.latents, reference(pipe, guidance, 2, prompts_of(edit_at)))
    assert not torch.allclose(run.latents, reference(pipe, guidance, 2, prompts_of(None)))


def test_a_run_at_constant_guidance_equals_the_pipelines_own(pipe):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=2.5, num_images_per_prompt=2)
    bare = pipe(prompt=PROMPT, guidance_scale=2.5, num_inference_steps=STEPS, height=SIZE, width=SIZE,
                max_sequence_length=TOKENS, num_images_per_prompt=2, output_type="latent",
                generator=torch.Generator().manual_seed(SEED)).images  # fmt: skip
    assert torch.equal(run.latents, as_image(pipe, bare))


def test_a_steered_run_replays_from_its_gallery_exactly(pipe, tmp_path):
    runner = Runner(pipe, cpu_threads=1)
    hands = [at_step(runner, 2, lambda run: run.set_guidance(1.5)),
             at_step(runner, 4, lambda run: runner.set_prompt(EDIT))]  # fmt: skip
    run = generate(runner, guidance_scale=START, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / "dev")))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [START] * 3 + [1.5] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


def test_a_branch_equals_a_fresh_run_with_the_combined_schedules(pipe):
    runner = Runner(pipe, cpu_threads=1)
    parent = generate(runner, guidance_scale=START)
    assert parent.branchable == STEPS
    child = runner.branch(parent, 3, guidance_scale=1.0, prompt=EDIT)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [START] * 3 + [1.0] * (STEPS - 3)
    fresh = generate(runner, guidance_schedule=child.guidance, prompt_schedule=[{"step": 3, "prompt": EDIT}])
    assert torch.equal(child.latents, fresh.latents) and not torch.equal(child.latents, parent.latents)
    assert torch.equal(child.latents, reference(pipe, child.guidance, 1, prompts_of(2)))


def test_the_last_steps_decode_is_the_image(pipe):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=3.0, keep_latents=True)
    assert {step.frame.size for step in run.steps} == {(16, 16)}
    decoded = np.asarray(run.decode_step(STEPS - 1)).astype(int)
    assert np.abs(decoded - np.asarray(run.image).astype(int)).max() <= 1


def test_its_knob_and_what_is_refused(pipe):
    runner = Runner(pipe)
    (knob,) = runner.knobs
    assert (knob["name"], knob["kind"], knob["default"], knob["off_at"]) == ("guidance_scale", "distilled", 4.0, None)
    with pytest.raises(TypeError, match="'image' cannot be passed to Flux2Pipeline"):
        runner.start(PROMPT, image=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(TypeError, match="caption_upsample_temperature .* rewrites the prompt"):
        runner.start(PROMPT, caption_upsample_temperature=0.15)
    failed = runner.generate(PROMPT, negative_prompt="blurry", num_inference_steps=2, height=SIZE, width=SIZE)
    assert failed.status is RunStatus.FAILED and "has no negative prompt" in str(failed.error)
    with pytest.raises(TypeError, match="no guidance embedding .* runs no guidance"):
        Runner(tiny_flux2_dev_pipeline(guidance_embeds=False))
