"""Qwen-Image steered by hand equals a hand-written denoising loop, bit for bit; and its runs as a
user keeps them: the pipeline's own output at constant settings, a gallery replay, a branch, previews.

The reference loop follows ``QwenImagePipeline.__call__`` with diffusers' own pieces only (the
pipeline's ``encode_prompt``, ``prepare_latents`` and ``_unpack_latents``, the scheduler, the
transformer; no sdwidget code): a conditional call and, where the step's scale is above 1, a
second one on the negative prompt, combined as the pipeline does, keeping the conditional
output's norm over each token's channels.
"""

import copy

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.qwenimage.pipeline_qwenimage import calculate_shift, retrieve_timesteps

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.preview.published import WAN21_BIAS, WAN21_FACTORS
from sdwidget.testing import tiny_qwen_image_pipeline

STEPS, SEED, SIZE = 8, 7, 32
PROMPT, NEGATIVE, EDIT = "a red star on a blue background", "blurry", "a green dot"
PAIR, PAIR_EDIT = [PROMPT, "a cat"], [EDIT, "a dog asleep on a long red mat"]
CASES = {"starts-on": (5.0, (2, 0.8), (5, 6.5)), "starts-off": (1.0, (1, 4.0), (6, 0.5))}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_qwen_image_pipeline()


def curve(start, changes):
    values = [start] * STEPS
    for step, value in changes:
        values[step + 1 :] = [value] * (STEPS - step - 1)
    return values


@torch.no_grad()
def reference(pipe, guidance, n, prompts):
    """``guidance[i]``, ``prompts[i]``: step i's true CFG scale and prompt (a string, or a list)."""
    batch = len(prompts[0]) if isinstance(prompts[0], list) else 1
    embeds = {str(p): pipe.encode_prompt(prompt=p, device="cpu", num_images_per_prompt=n) for p in prompts}
    negative = pipe.encode_prompt(prompt=[NEGATIVE] * batch, device="cpu", num_images_per_prompt=n)
    generator = torch.Generator().manual_seed(SEED)
    latents = pipe.prepare_latents(batch * n, 16, SIZE, SIZE, torch.float32, "cpu", generator)
    side = SIZE // pipe.vae_scale_factor // 2
    img_shapes = [[(1, side, side)]] * batch
    config = pipe.scheduler.config
    mu = calculate_shift(latents.shape[1], config.base_image_seq_len, config.max_image_seq_len, config.base_shift,
                         config.max_shift)  # fmt: skip
    scheduler = copy.deepcopy(pipe.scheduler)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        timestep = t.expand(latents.shape[0]).to(latents.dtype)

        def predict(text_embeds, mask, latents=latents, timestep=timestep):
            return pipe.transformer(
                hidden_states=latents, timestep=timestep / 1000, guidance=None, encoder_hidden_states_mask=mask,
                encoder_hidden_states=text_embeds, img_shapes=img_shapes, attention_kwargs={}, return_dict=False,
            )[0]  # fmt: skip

        out = predict(*embeds[str(prompts[i])])
        if guidance[i] > 1:
            neg = predict(*negative)
            comb = neg + guidance[i] * (out - neg)
            out = comb * (torch.norm(out, dim=-1, keepdim=True) / torch.norm(comb, dim=-1, keepdim=True))
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)[:, :, 0]


def generate(runner, prompt=PROMPT, **kwargs):
    args = {"num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    negative = [NEGATIVE] * len(prompt) if isinstance(prompt, list) else NEGATIVE
    run = runner.generate(prompt, negative_prompt=negative, **{**args, **kwargs})
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


def steer(pipe, start, changes, prompt=PROMPT, n=1, edit=None):
    """``edit``: ``(step, prompt)``, set by hand when ``step`` is recorded."""
    runner = Runner(pipe, cpu_threads=1)
    for step, value in changes:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    if edit is not None:
        at_step(runner, edit[0], lambda run: runner.set_prompt(edit[1]))
    run = generate(runner, prompt, guidance_scale=start, num_images_per_prompt=n)
    rows = n * (len(prompt) if isinstance(prompt, list) else 1)
    assert run.latents.shape == (rows, 16, 8, 8) and len(run.images) == rows
    return run


@pytest.mark.parametrize(("prompt", "n"), [(PROMPT, 1), (PROMPT, 2), (PAIR, 1)], ids=["one", "two-images", "pair"])
@pytest.mark.parametrize("case", list(CASES))
def test_qwen_image_true_cfg_crossing_one_matches_reference_loop(pipe, case, prompt, n):
    """Two prompts of different lengths carry a padding mask; one prompt carries none."""
    start, *changes = CASES[case]
    run = steer(pipe, start, changes, prompt, n)
    guidance = curve(start, changes)
    assert run.guidance == guidance and [s.cfg for s in run.steps] == [g > 1 for g in guidance]
    assert torch.equal(run.latents, reference(pipe, guidance, n, [prompt] * STEPS))
    assert not torch.allclose(run.latents, reference(pipe, [start] * STEPS, n, [prompt] * STEPS))


@pytest.mark.parametrize(("prompt", "edit"), [(PROMPT, EDIT), (PAIR, PAIR_EDIT)], ids=["one", "pair"])
def test_a_prompt_edit_mid_run_brings_its_own_length_and_mask(pipe, prompt, edit):
    start, changes, edit_at = 4.0, [(3, 0.9), (5, 3.0)], 4
    n = 2 if prompt == PROMPT else 1
    run = steer(pipe, start, changes, prompt, n, edit=(edit_at, edit))
    assert run.prompts[-1] == {"step": edit_at + 1, "prompt": edit, "negative_prompt": None}
    guidance, prompts = curve(start, changes), [prompt] * (edit_at + 1) + [edit] * (STEPS - edit_at - 1)
    assert torch.equal(run.latents, reference(pipe, guidance, n, prompts))
    assert not torch.allclose(run.latents, reference(pipe, guidance, n, [prompt] * STEPS))


@pytest.mark.parametrize("guidance", [1.0, 4.0])
def test_a_run_at_constant_guidance_equals_the_pipelines_own(pipe, guidance):
    run = generate(Runner(pipe, cpu_threads=1), guidance_scale=guidance, num_images_per_prompt=2)
    bare = pipe(PROMPT, negative_prompt=NEGATIVE, true_cfg_scale=guidance, num_inference_steps=STEPS, height=SIZE,
                width=SIZE, num_images_per_prompt=2, output_type="latent",
                generator=torch.Generator().manual_seed(SEED)).images  # fmt: skip
    assert torch.equal(run.latents, pipe._unpack_latents(bare, SIZE, SIZE, pipe.vae_scale_factor)[:, :, 0])


def test_a_steered_run_replays_from_its_gallery_exactly(pipe, tmp_path):
    runner = Runner(pipe, cpu_threads=1)
    hands = [at_step(runner, 2, lambda run: run.set_guidance(0.7)),
             at_step(runner, 4, lambda run: runner.set_prompt(EDIT))]  # fmt: skip
    run = generate(runner, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / "qwen")))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [4.0] * 3 + [0.7] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


def test_a_branch_across_one_equals_a_fresh_run(pipe):
    runner = Runner(pipe, cpu_threads=1)
    parent = generate(runner, guidance_scale=5.0)
    assert parent.branchable == STEPS  # two transformer calls a step keep one output
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.8] * (STEPS - 3)
    fresh = generate(runner, guidance_schedule=child.guidance)
    assert torch.equal(child.latents, fresh.latents) and not torch.equal(child.latents, parent.latents)
    assert torch.equal(child.latents, reference(pipe, child.guidance, 1, [PROMPT] * STEPS))


def test_previews_unpack_the_video_latents_with_the_published_map(pipe):
    """Frames and kept latents are (batch, 16, h, w) images, previewed with Wan 2.1's published map
    (Qwen-Image's VAE is Wan 2.1's; the tiny VAE has its latent statistics)."""
    runner = Runner(pipe, cpu_threads=1)
    assert torch.equal(runner.preview.weight, torch.tensor(WAN21_FACTORS))
    run = generate(runner, guidance_scale=3.0, keep_latents=True)
    assert {step.frame.size for step in run.steps} == {(8, 8)} and run.latents.shape == (1, 16, 8, 8)
    rgb = torch.einsum("chw,cr->hwr", run.latents[0], torch.tensor(WAN21_FACTORS)) + torch.tensor(WAN21_BIAS)
    expected = ((rgb.clamp(-1, 1) + 1) * 127.5).numpy()
    assert np.abs(run.steps[-1].frame.numpy().astype(float) - expected).max() <= 1


def test_its_knob_and_what_cannot_be_steered(pipe):
    runner = Runner(pipe)
    (knob,) = runner.knobs
    assert (knob["name"], knob["kind"], knob["default"], knob["off_at"]) == ("guidance_scale", "cfg", 4.0, 1.0)
    with pytest.raises(TypeError, match="guidance_scale is this model's true CFG scale; pass guidance_scale=3.0"):
        runner.start(PROMPT, true_cfg_scale=3.0)
    with pytest.raises(ValueError, match="height must be a multiple of 8"):
        runner.start(PROMPT, height=36, width=32)
    distilled = tiny_qwen_image_pipeline()
    distilled.transformer.register_to_config(guidance_embeds=True)
    with pytest.raises(TypeError, match="guidance embedding .* not checked on Qwen-Image's loop"):
        Runner(distilled)
