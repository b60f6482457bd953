"""Chroma steered by hand equals a hand-written denoising loop, bit for bit; and its runs as a user
keeps them: the pipeline's own output at constant settings, a gallery replay, a branch, decodes.

The reference loop follows ``ChromaPipeline.__call__`` with diffusers' own pieces only (the
pipeline's ``encode_prompt``, ``prepare_latents``, ``_prepare_attention_mask`` and
``_unpack_latents``, the scheduler, the transformer; no sdwidget code): a conditional call and,
where the step's guidance is above 1, a second call on the negative prompt's embeddings and mask,
combined as ``neg + g × (cond − neg)``.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.chroma.pipeline_chroma import calculate_shift, retrieve_timesteps

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_chroma_pipeline

STEPS, SEED, SIZE, TOKENS = 8, 7, 32, 16
PROMPT, NEGATIVE, EDIT = "a red star on a blue background", "blurry", "a green dot"
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_chroma_pipeline()


def curve(start, changes):
    values = [start] * STEPS
    for step, value in changes:
        values[step + 1 :] = [value] * (STEPS - step - 1)
    return values


def prompts_of(edit_at):
    return [PROMPT if edit_at is None or i <= edit_at else EDIT for i in range(STEPS)]


@torch.no_grad()
def reference(pipe, guidance, n, prompts):
    """``guidance[i]``, ``prompts[i]``: step i's CFG scale and prompt."""

    def encode(text):
        embeds, _, mask, *_ = pipe.encode_prompt(
            prompt=text, device="cpu", num_images_per_prompt=n, do_classifier_free_guidance=False,
            max_sequence_length=TOKENS,
        )  # fmt: skip
        return embeds, mask

    embeds, negative = {text: encode(text) for text in set(prompts)}, encode(NEGATIVE)
    assert not torch.equal(embeds[prompts[0]][1], negative[1])  # the masks differ: the test checks they follow
    generator = torch.Generator().manual_seed(SEED)
    latents, image_ids = pipe.prepare_latents(n, 16, SIZE, SIZE, torch.float32, "cpu", generator)
    text_ids = torch.zeros(TOKENS, 3)
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = calculate_shift(latents.shape[1], 256, 4096, 0.5, 1.15)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        timestep = t.expand(n).to(latents.dtype)

        def predict(text_embeds, mask, latents=latents, timestep=timestep):
            attention = pipe._prepare_attention_mask(n, latents.shape[1], latents.dtype, mask)
            return pipe.transformer(
                hidden_states=latents, timestep=timestep / 1000, encoder_hidden_states=text_embeds, txt_ids=text_ids,
                img_ids=image_ids, attention_mask=attention, joint_attention_kwargs={}, return_dict=False,
            )[0]  # fmt: skip

        out = predict(*embeds[prompts[i]])
        if guidance[i] > 1:
            neg = predict(*negative)
            out = neg + guidance[i] * (out - neg)
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)


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
    assert run.latents.shape == (n, 16, 16, 16) and len(run.images) == n
    return run


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_chroma_guidance_crossing_one_matches_reference_loop(pipe, case, n):
    start, *changes = CASES[case]
    run = steer(pipe, start, changes, n)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    assert torch.equal(run.latents, reference(pipe, guidance, n, prompts_of(None)))
    assert not torch.allclose(run.latents, reference(pipe, [start] * STEPS, n, prompts_of(None)))


def test_a_prompt_edit_mid_run_brings_its_own_mask(pipe):
    """The edit is shorter than the prompt: its mask, not the first prompt's, conditions the last steps."""
    start, changes, edit_at = 4.0, [(3, 0.9), (5, 3.0)], 4
    run = steer(pipe, start, changes, 2, edit_at=edit_at)
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": EDIT, "negative_prompt": None}
    guidance = curve(start, changes)
    assert torch.equal(run.latents, reference(pipe, guidance, 2, prompts_of(edit_at)))
    assert not torch.allclose(run.latents, reference(pipe, guidance, 2, prompts_of(None)))


@pytest.mark.parametrize("guidance", [1.0, 4.0])
def test_a_run_at_constant_guidance_equals_the_pipelines_own(pipe, guidance):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=guidance, num_images_per_prompt=2)
    bare = pipe(PROMPT, negative_prompt=NEGATIVE, guidance_scale=guidance, num_inference_steps=STEPS, height=SIZE,
                width=SIZE, max_sequence_length=TOKENS, num_images_per_prompt=2, output_type="latent",
                generator=torch.Generator().manual_seed(SEED)).images  # fmt: skip
    assert torch.equal(run.latents, pipe._unpack_latents(bare, SIZE, SIZE, pipe.vae_scale_factor))


def test_a_steered_run_replays_from_its_gallery_exactly(pipe, tmp_path):
    runner = Runner(pipe, cpu_threads=1)
    hands = [at_step(runner, 2, lambda run: run.set_guidance(0.7)),
             at_step(runner, 4, lambda run: runner.set_prompt(EDIT))]  # fmt: skip
    run = generate(runner, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / "chroma")))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [4.0] * 3 + [0.7] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


def test_a_branch_across_one_equals_a_fresh_run(pipe):
    """The parent runs CFG (two calls a step), the branch goes off it (one): the tap keeps one
    guided output a step either way."""
    runner = Runner(pipe, cpu_threads=1)
    parent = generate(runner, guidance_scale=5.0)
    assert parent.branchable == STEPS
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.8] * (STEPS - 3)
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
    assert (knob["name"], knob["kind"], knob["default"], knob["off_at"]) == ("guidance_scale", "cfg", 5.0, 1.0)
    for name in ("ip_adapter_image", "negative_ip_adapter_image"):
        with pytest.raises(TypeError, match=f"{name} cannot be steered"):
            runner.start(PROMPT, **{name: np.zeros((32, 32, 3), np.uint8)})
    with pytest.raises(ValueError, match="height must be a multiple of 8"):
        runner.start(PROMPT, height=36, width=32)
