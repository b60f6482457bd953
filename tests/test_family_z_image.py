"""Z-Image steered by hand equals a hand-written denoising loop, bit for bit; and its runs as a user
keeps them: the pipeline's own output at constant settings, a gallery replay, a branch, decodes.

The reference loop follows ``ZImagePipeline.__call__`` with diffusers' own pieces only (the
pipeline's ``_encode_prompt`` and ``prepare_latents``, the scheduler, the transformer; no sdwidget
code): one transformer call a step on lists, both halves in it where the step's guidance is above
0 (and CFG not cut off by ``cfg_truncation``, set up once where CFG is on at the start), mixed
as ``pos + g × (pos − neg)`` and, with ``cfg_normalization``, capped to that multiple of the
conditional output's norm.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.z_image.pipeline_z_image import calculate_shift, get_default_z_image_sigmas, retrieve_timesteps

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_z_image_pipeline

STEPS, SEED, SIZE, TOKENS = 8, 7, 32, 128
PROMPT, NEGATIVE, EDIT = "a red star on a blue background", "blurry", "a green dot"
CASES = {"starts-on": (5.0, (2, 0.0), (5, 6.5)), "starts-off": (0.0, (1, 4.0), (6, 0.0))}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_z_image_pipeline()


def curve(start, changes):
    values = [start] * STEPS
    for step, value in changes:
        values[step + 1 :] = [value] * (STEPS - step - 1)
    return values


def prompts_of(edit_at):
    return [PROMPT if edit_at is None or i <= edit_at else EDIT for i in range(STEPS)]


@torch.no_grad()
def reference(pipe, guidance, n, prompts, truncation=1.0, normalization=False):
    """``guidance[i]``, ``prompts[i]``: step i's CFG scale and prompt."""
    embeds = {text: pipe._encode_prompt([text], "cpu", max_sequence_length=TOKENS) for text in set(prompts)}
    negative = pipe._encode_prompt([NEGATIVE], "cpu", max_sequence_length=TOKENS) * n
    latents = pipe.prepare_latents(n, 16, SIZE, SIZE, torch.float32, "cpu", torch.Generator().manual_seed(SEED))
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = calculate_shift((latents.shape[2] // 2) * (latents.shape[3] // 2), 256, 4096, 0.5, 1.15)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=get_default_z_image_sigmas(STEPS), mu=mu)
    scheduler.set_begin_index(0)
    cutoff = ((1000 - timesteps.float()) / 1000).tolist() if guidance[0] > 0 and truncation <= 1 else None
    for i, t in enumerate(timesteps):
        scale = 0.0 if cutoff is not None and cutoff[i] > truncation else guidance[i]
        timestep, rows = (1000 - t.expand(n)) / 1000, list(latents.unsqueeze(2).unbind(0))
        positive = embeds[prompts[i]] * n
        if guidance[i] > 0 and scale > 0:
            out = pipe.transformer(rows + rows, timestep.repeat(2), positive + negative, return_dict=False)[0]
            preds = []
            for pos, neg in zip((o.float() for o in out[:n]), (o.float() for o in out[n:]), strict=True):
                pred = pos + scale * (pos - neg)
                cap = torch.linalg.vector_norm(pos) * float(normalization)
                if normalization and torch.linalg.vector_norm(pred) > cap:
                    pred = pred * (cap / torch.linalg.vector_norm(pred))
                preds.append(pred)
            noise = torch.stack(preds)
        else:
            noise = torch.stack([o.float() for o in pipe.transformer(rows, timestep, positive, return_dict=False)[0]])
        latents = scheduler.step(-noise.squeeze(2), t, latents, return_dict=False)[0]
    return latents


def generate(runner, **kwargs):
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE,
            "max_sequence_length": TOKENS}  # fmt: skip
    run = runner.generate(PROMPT, **{**args, **kwargs})
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


def steer(pipe, start, changes, n, edit_at=None, **kwargs):
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    if edit_at is not None:
        at_step(runner, edit_at, lambda run: runner.set_prompt(EDIT))
    run = generate(runner, guidance_scale=start, num_images_per_prompt=n, **kwargs)
    assert run.latents.shape == (n, 16, 16, 16) and len(run.images) == n
    return run


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_z_image_guidance_crossing_zero_matches_reference_loop(pipe, case, n):
    start, *changes = CASES[case]
    run = steer(pipe, start, changes, n)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 0 for g in guidance]
    assert torch.equal(run.latents, reference(pipe, guidance, n, prompts_of(None)))
    assert not torch.allclose(run.latents, reference(pipe, [start] * STEPS, n, prompts_of(None)))


def test_its_cutoff_and_normalisation_are_the_pipelines_own(pipe):
    """CFG off past 0.3 of the schedule (its last three steps) whatever the hand does, and guided
    outputs capped at the prompt's norm."""
    start, changes, options = 6.0, [(1, 0.0), (2, 3.0)], {"cfg_truncation": 0.3, "cfg_normalization": True}
    run = steer(pipe, start, changes, 2, **options)
    guidance = curve(start, changes)
    assert [s.cfg for s in run.steps] == [True, True, False, True, True, False, False, False]
    expected = reference(pipe, guidance, 2, prompts_of(None), truncation=0.3, normalization=True)
    assert torch.equal(run.latents, expected)
    assert not torch.allclose(run.latents, reference(pipe, guidance, 2, prompts_of(None)))


def test_a_prompt_edit_mid_run_brings_its_own_length(pipe):
    start, changes, edit_at = 4.0, [(3, 0.0), (5, 3.0)], 4
    run = steer(pipe, start, changes, 2, edit_at=edit_at)
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": EDIT, "negative_prompt": None}
    guidance = curve(start, changes)
    assert torch.equal(run.latents, reference(pipe, guidance, 2, prompts_of(edit_at)))
    assert not torch.allclose(run.latents, reference(pipe, guidance, 2, prompts_of(None)))


@pytest.mark.parametrize("guidance", [0.0, 4.0])
def test_a_run_at_constant_guidance_equals_the_pipelines_own(pipe, guidance):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=guidance, num_images_per_prompt=2)
    bare = pipe(PROMPT, negative_prompt=NEGATIVE, guidance_scale=guidance, num_inference_steps=STEPS, height=SIZE,
                width=SIZE, max_sequence_length=TOKENS, num_images_per_prompt=2, output_type="latent",
                generator=torch.Generator().manual_seed(SEED)).images  # fmt: skip
    assert torch.equal(run.latents, bare)


def test_a_steered_run_replays_from_its_gallery_exactly(pipe, tmp_path):
    runner = Runner(pipe, cpu_threads=1)
    hands = [at_step(runner, 2, lambda run: run.set_guidance(0.0)),
             at_step(runner, 4, lambda run: runner.set_prompt(EDIT))]  # fmt: skip
    run = generate(runner, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / "z_image")))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [4.0] * 3 + [0.0] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


def test_a_branch_across_zero_equals_a_fresh_run(pipe):
    """The parent's steps carry both halves (two rows an image), the branch's later ones one:
    the tap keeps each step's stacked output either way."""
    runner = Runner(pipe, cpu_threads=1)
    parent = generate(runner, guidance_scale=5.0)
    assert parent.branchable == STEPS
    child = runner.branch(parent, 3, guidance_scale=0.0)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.0] * (STEPS - 3)
    fresh = generate(runner, guidance_schedule=child.guidance)
    assert torch.equal(child.latents, fresh.latents) and not torch.equal(child.latents, parent.latents)
    assert torch.equal(child.latents, reference(pipe, child.guidance, 1, prompts_of(None)))


def test_frames_are_images_and_the_last_step_decodes_to_the_final_image(pipe):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=3.0, keep_latents=True)
    side = SIZE // pipe.vae_scale_factor
    assert {step.frame.size for step in run.steps} == {(side, side)}
    decoded = np.asarray(run.decode_step(STEPS - 1)).astype(int)
    assert np.abs(decoded - np.asarray(run.image).astype(int)).max() <= 1


def test_its_knob_and_what_cannot_be_steered(pipe):
    runner = Runner(pipe)
    (knob,) = runner.knobs
    assert (knob["name"], knob["kind"], knob["default"], knob["off_at"]) == ("guidance_scale", "cfg", 5.0, 0.0)
    with pytest.raises(ValueError, match="cfg_truncation=0.5 with guidance starting at 0.0: .* up once"):
        runner.start(PROMPT, guidance_scale=0.0, cfg_truncation=0.5)
    with pytest.raises(ValueError, match="height must be a multiple of 8"):
        runner.start(PROMPT, height=34, width=32)
