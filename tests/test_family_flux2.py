"""FLUX.2 [klein] steered by hand equals a hand-written denoising loop, bit for bit; and its runs as
a user keeps them: the pipeline's own output at constant settings, a gallery replay, a branch,
previews and decodes through its VAE's batch-norm statistics and 2×2 patches.

The reference loop follows ``Flux2KleinPipeline.__call__`` with diffusers' own pieces only (the
pipeline's ``encode_prompt``, ``prepare_latents`` and latent (un)packing, the scheduler, the
transformer; no sdwidget code): a conditional call and, where the step's guidance is above 1, a
second one on the negative prompt, mixed as ``neg + g × (cond − neg)``.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.flux2.pipeline_flux2_klein import compute_empirical_mu, retrieve_timesteps

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_flux2_klein_pipeline

STEPS, SEED, SIZE, TOKENS = 8, 7, 32, 96
PROMPT, NEGATIVE, EDIT = "a red star on a blue background", "blurry", "a green dot"
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_flux2_klein_pipeline()


def curve(start, changes):
    values = [start] * STEPS
    for step, value in changes:
        values[step + 1 :] = [value] * (STEPS - step - 1)
    return values


def prompts_of(edit_at):
    return [PROMPT if edit_at is None or i <= edit_at else EDIT for i in range(STEPS)]


def as_image(pipe, latents):
    """The pipeline's own steps before its decode: tokens to a grid, batch-norm statistics, patches."""
    side = SIZE // pipe.vae_scale_factor // 2
    ids = pipe._prepare_latent_ids(torch.zeros(latents.shape[0], 1, side, side))
    grid = pipe._unpack_latents_with_ids(latents, ids, side, side)
    bn = pipe.vae.bn
    std = torch.sqrt(bn.running_var.view(1, -1, 1, 1) + pipe.vae.config.batch_norm_eps)
    return pipe._unpatchify_latents(grid * std + bn.running_mean.view(1, -1, 1, 1))


@torch.no_grad()
def reference(pipe, guidance, n, prompts, negative=NEGATIVE):
    """``guidance[i]``, ``prompts[i]``: step i's CFG scale and prompt."""

    def encode(text):
        return pipe.encode_prompt(prompt=text, device="cpu", num_images_per_prompt=n, max_sequence_length=TOKENS)

    embeds, uncond = {text: encode(text) for text in set(prompts)}, encode(negative)
    generator = torch.Generator().manual_seed(SEED)
    latents, image_ids = pipe.prepare_latents(n, 8, SIZE, SIZE, torch.float32, "cpu", generator)
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = compute_empirical_mu(latents.shape[1], STEPS)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        timestep = t.expand(n).to(latents.dtype)

        def predict(text_embeds, text_ids, latents=latents, timestep=timestep):
            return pipe.transformer(
                hidden_states=latents, timestep=timestep / 1000, guidance=None, encoder_hidden_states=text_embeds,
                txt_ids=text_ids, img_ids=image_ids, joint_attention_kwargs=None, return_dict=False,
            )[0][:, : latents.size(1) :]  # fmt: skip

        out = predict(*embeds[prompts[i]])
        if guidance[i] > 1:
            neg = predict(*uncond)
            out = neg + guidance[i] * (out - neg)
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return as_image(pipe, latents)


def generate(runner, **kwargs):
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE,
            "max_sequence_length": TOKENS}  # fmt: skip
    run = runner.generate(PROMPT, **{**args, **kwargs})
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


def steer(pipe, start, changes, n, edit_at=None):
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    if edit_at is not None:
        at_step(runner, edit_at, lambda run: runner.set_prompt(EDIT))
    run = generate(runner, guidance_scale=start, num_images_per_prompt=n)
    assert run.latents.shape == (n, 8, 16, 16) and len(run.images) == n
    return run


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_klein_guidance_crossing_one_matches_reference_loop(pipe, case, n):
    start, *changes = CASES[case]
    run = steer(pipe, start, changes, n)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    assert torch.equal(run.latents, reference(pipe, guidance, n, prompts_of(None)))
    assert not torch.allclose(run.latents, reference(pipe, [start] * STEPS, n, prompts_of(None)))


def test_a_prompt_edit_mid_run(pipe):
    start, changes, edit_at = 4.0, [(3, 0.9), (5, 3.0)], 4
    run = steer(pipe, start, changes, 2, edit_at=edit_at)
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": EDIT, "negative_prompt": None}
    guidance = curve(start, changes)
    assert torch.equal(run.latents, reference(pipe, guidance, 2, prompts_of(edit_at)))
    assert not torch.allclose(run.latents, reference(pipe, guidance, 2, prompts_of(None)))


@pytest.mark.parametrize("guidance", [1.0, 4.0])
def test_a_run_at_constant_guidance_equals_the_pipelines_own(pipe, guidance):
    """The pipeline's negative prompt is always empty: so is the run's here."""
    run = generate(Runner(pipe, cpu_threads=1), negative_prompt=None, guidance_scale=guidance, num_images_per_prompt=2)
    bare = pipe(prompt=PROMPT, guidance_scale=guidance, num_inference_steps=STEPS, height=SIZE, width=SIZE,
                max_sequence_length=TOKENS, num_images_per_prompt=2, output_type="latent",
                generator=torch.Generator().manual_seed(SEED)).images  # fmt: skip
    assert torch.equal(run.latents, bare)


def test_a_steered_run_replays_from_its_gallery_exactly(pipe, tmp_path):
    runner = Runner(pipe, cpu_threads=1)
    hands = [at_step(runner, 2, lambda run: run.set_guidance(0.7)),
             at_step(runner, 4, lambda run: runner.set_prompt(EDIT))]  # fmt: skip
    run = generate(runner, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / "klein")))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [4.0] * 3 + [0.7] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


def test_a_branch_across_one_equals_a_fresh_run(pipe):
    runner = Runner(pipe, cpu_threads=1)
    parent = generate(runner, guidance_scale=5.0)
    assert parent.branchable == STEPS
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.8] * (STEPS - 3)
    fresh = generate(runner, guidance_schedule=child.guidance)
    assert torch.equal(child.latents, fresh.latents) and not torch.equal(child.latents, parent.latents)
    assert torch.equal(child.latents, reference(pipe, child.guidance, 1, prompts_of(None)))


def test_previews_and_the_last_steps_decode_go_through_its_vae_normalisation(pipe):
    """Frames are the VAE's own latents (batch-norm statistics put back, patches undone), with a
    map fitted to its VAE; the last step decodes to the final image."""
    runner = Runner(pipe, cpu_threads=1)
    assert runner.preview.weight.shape == (8, 3)
    run = generate(runner, guidance_scale=3.0, keep_latents=True)
    assert {step.frame.size for step in run.steps} == {(16, 16)}
    decoded = np.asarray(run.decode_step(STEPS - 1)).astype(int)
    assert np.abs(decoded - np.asarray(run.image).astype(int)).max() <= 1


def test_its_knob_and_what_cannot_be_steered(pipe):
    runner = Runner(pipe)
    (knob,) = runner.knobs
    assert (knob["name"], knob["kind"], knob["default"], knob["off_at"]) == ("guidance_scale", "cfg", 4.0, 1.0)
    with pytest.raises(TypeError, match="'image' cannot be passed to Flux2KleinPipeline"):
        runner.start(PROMPT, image=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(TypeError, match="step-distilled .* runs no guidance"):
        Runner(tiny_flux2_klein_pipeline(is_distilled=True))
