"""Hostile checks of SD3, Flux and IP-Adapter steering: batches of prompts, stops, holds, branches
at the ends of a run, failed runs, and runs that steer nothing, each against diffusers' own code
(a reference loop, or the bare pipeline called as its documentation says) or a fresh run."""

import copy
import time

import numpy as np
import pytest
import torch
from conftest import Raising, at_step
from diffusers import StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel
from diffusers.callbacks import IPAdapterScaleCutoffCallback, PipelineCallback, SD3CFGCutoffCallback
from diffusers.pipelines.flux.pipeline_flux import calculate_shift, retrieve_timesteps
from PIL import Image
from test_flow_families import NEGATIVE, PROMPT, SEED, SIZE, STEPS, TOKENS, curve, sd3_reference
from tiny_ip_adapter import add_ip_adapter

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline, tiny_sd_pipeline, tiny_sdxl_pipeline

IMAGE = Image.fromarray((np.random.RandomState(3).rand(40, 48, 3) * 255).astype(np.uint8))  # IP-Adapter's
ROWS, EDITS = ["a red star", "a blue moon"], ["a green circle", "a yellow square"]
NEGATIVES = ["dark", "noisy"]
FLUX = {
    "flux-dev": {"max_sequence_length": TOKENS, "true_cfg_scale": 3.0},
    "flux-schnell": {"max_sequence_length": TOKENS},
}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipes():
    return {"sd3": tiny_sd3_pipeline(), "flux-dev": tiny_flux_pipeline(), "flux-schnell": tiny_flux_pipeline(
        guidance_embeds=False)}  # fmt: skip


@torch.no_grad()
def flux_rows_reference(pipe, guidance, true_cfg, n, prompts, stop_at=None):
    """FluxPipeline's loop for a batch of prompts: ``prompts[i]`` the list conditioning step i.
    ``stop_at``: return the clean estimate of that step (the flow-matching x0, ``x - σ·v``)."""

    def encode(texts):
        return pipe.encode_prompt(prompt=texts, prompt_2=None, device="cpu", num_images_per_prompt=n,
                                  max_sequence_length=TOKENS)  # fmt: skip

    negative = encode([NEGATIVE] * len(prompts[0]))
    rows = len(prompts[0]) * n
    generator = torch.Generator().manual_seed(SEED)
    latents, image_ids = pipe.prepare_latents(rows, 16, SIZE, SIZE, torch.float32, "cpu", generator)
    scheduler = copy.deepcopy(pipe.scheduler)
    mu = calculate_shift(latents.shape[1], 256, 4096, 0.5, 1.15)
    timesteps, _ = retrieve_timesteps(scheduler, STEPS, "cpu", sigmas=np.linspace(1.0, 1 / STEPS, STEPS), mu=mu)
    scheduler.set_begin_index(0)
    for i, t in enumerate(timesteps):
        distilled = torch.full([1], guidance[i], dtype=torch.float32).expand(rows)
        arguments = {
            "hidden_states": latents, "timestep": t.expand(rows).to(latents.dtype) / 1000, "img_ids": image_ids,
            "guidance": distilled if pipe.transformer.config.guidance_embeds else None, "return_dict": False,
            "joint_attention_kwargs": {},
        }  # fmt: skip
        cond, pooled, text_ids = encode(prompts[i])
        out = pipe.transformer(**arguments, encoder_hidden_states=cond, pooled_projections=pooled, txt_ids=text_ids)[0]
        if true_cfg[i] > 1:
            neg = pipe.transformer(**arguments, encoder_hidden_states=negative[0], pooled_projections=negative[1],
                                   txt_ids=negative[2])[0]  # fmt: skip
            out = neg + true_cfg[i] * (out - neg)
        if i == stop_at:
            return pipe._unpack_latents(latents - scheduler.sigmas[i] * out, SIZE, SIZE, pipe.vae_scale_factor)
        latents = scheduler.step(out, t, latents, return_dict=False)[0]
    return pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)


def flux_run(runner, kind, prompt=ROWS, **kwargs):
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    return runner.generate(prompt, **{**args, **FLUX[kind], **kwargs})


def cfg_of(kind, guidance):
    return [3.0] * STEPS if kind == "flux-dev" else guidance


@pytest.mark.parametrize("kind", list(FLUX))
def test_flux_rows_with_images_per_prompt_and_an_edit_with_a_guidance_change_at_one_step(pipes, kind):
    """Two prompts × two images, a per-row prompt edit and a guidance change asked at the same step."""
    runner = Runner(pipes[kind], cpu_threads=1)
    at_step(runner, 3, lambda run: (runner.set_prompt(EDITS), run.set_guidance(0.5)))
    run = flux_run(runner, kind, guidance_scale=4.0, num_images_per_prompt=2)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.prompts[-1] == {"step": 4, "prompt": EDITS, "negative_prompt": None}
    guidance = curve(4.0, [(3, 0.5)])
    prompts = [ROWS] * 4 + [EDITS] * (STEPS - 4)
    expected = flux_rows_reference(pipes[kind], guidance, cfg_of(kind, guidance), 2, prompts)
    side = SIZE // pipes[kind].vae_scale_factor
    assert run.latents.shape == (4, 16, side, side) and torch.equal(run.latents, expected)


@pytest.mark.parametrize("kind", list(FLUX))
def test_flux_stop_keeps_the_clean_estimate_and_leaves_nothing_behind(pipes, kind):
    """Stopped at step 3, the run keeps step 3's x0 unpacked (two transformer calls a step, the
    second computing nothing); the transformer is unwrapped and the next run is a fresh one."""
    pipe, runner = pipes[kind], Runner(pipes[kind], cpu_threads=1)
    stop = at_step(runner, 3, lambda run: run.stop())
    run = flux_run(runner, kind, guidance_scale=4.0)
    stop()
    assert run.status is RunStatus.STOPPED and len(run.steps) == 4
    expected = flux_rows_reference(pipe, [4.0] * STEPS, cfg_of(kind, [4.0] * STEPS), 1, [ROWS] * STEPS, stop_at=3)
    assert torch.equal(run.latents, expected)
    assert "forward" not in vars(pipe.transformer) and "step" not in vars(pipe.scheduler)
    after = flux_run(runner, kind, guidance_scale=4.0)
    full = flux_rows_reference(pipe, [4.0] * STEPS, cfg_of(kind, [4.0] * STEPS), 1, [ROWS] * STEPS)
    assert torch.equal(after.latents, full)


def test_flux_held_stepped_and_steered_while_paused_equals_a_fresh_run(pipes):
    runner = Runner(pipes["flux-schnell"], cpu_threads=1)
    holds = []  # steps recorded at each hold
    paused = lambda event: getattr(event, "status", None) is RunStatus.PAUSED  # noqa: E731
    runner.observe(lambda event: paused(event) and holds.append(len(runner.run.steps)))
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    run = runner.start(ROWS, guidance_scale=4.0, pause_at=[3], max_sequence_length=TOKENS, **args)
    wait_until(lambda: holds == [3])
    run.set_guidance(0.5)  # while held: the next step, step 3, takes it
    run.step_once()
    wait_until(lambda: holds == [3, 4])
    run.set_guidance(6.0)
    run.resume()
    assert run.wait(60) and run.status is RunStatus.FINISHED, run.traceback
    guidance = [4.0] * 3 + [0.5] + [6.0] * (STEPS - 4)
    assert run.guidance == guidance
    fresh = flux_run(runner, "flux-schnell", guidance_schedule=guidance)
    assert torch.equal(run.latents, fresh.latents)


@pytest.mark.parametrize("kind", ["sd3", *FLUX])
def test_a_branch_from_the_first_or_the_last_step(pipes, kind):
    runner = Runner(pipes[kind], cpu_threads=1)
    extra = FLUX.get(kind, {})
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    parent = runner.generate(PROMPT, guidance_scale=5.0, **args, **extra)
    first = runner.branch(parent, 0, guidance_scale=0.8, prompt="a green circle")
    assert first.wait(60) and first.status is RunStatus.FINISHED, first.traceback
    fresh = runner.generate("a green circle", guidance_scale=0.8, **args, **extra)
    assert first.guidance == [0.8] * STEPS and torch.equal(first.latents, fresh.latents)
    last = runner.branch(parent, STEPS, guidance_scale=0.8)  # everything replayed: the parent again
    assert last.wait(60) and last.status is RunStatus.FINISHED, last.traceback
    assert last.guidance == parent.guidance and torch.equal(last.latents, parent.latents)


@pytest.mark.parametrize("kind", ["sd3", *FLUX])
def test_a_failed_run_unwraps_the_transformer_and_the_next_run_is_fresh(pipes, kind):
    pipe, runner = pipes[kind], Runner(pipes[kind], cpu_threads=1)
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    args |= FLUX.get(kind, {})
    failed = runner.generate(PROMPT, guidance_scale=4.0, callbacks=[Raising(RuntimeError("boom"))], **args)
    assert failed.status is RunStatus.FAILED and "boom" in failed.traceback
    assert "forward" not in vars(pipe.transformer) and "step" not in vars(pipe.scheduler)
    again = runner.generate(PROMPT, guidance_scale=4.0, **args)
    fresh = Runner(pipe, cpu_threads=1).generate(PROMPT, guidance_scale=4.0, **args)
    assert torch.equal(again.latents, fresh.latents)


def test_sd3_guidance_set_to_exactly_one_switches_cfg_off(pipes):
    runner = Runner(pipes["sd3"], cpu_threads=1)
    at_step(runner, 2, lambda run: run.set_guidance(1.0))
    at_step(runner, 5, lambda run: run.set_guidance(1.0001))
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    run = runner.generate(PROMPT, guidance_scale=5.0, **args)
    guidance = curve(5.0, [(2, 1.0), (5, 1.0001)])
    assert [step.cfg for step in run.steps] == [g > 1 for g in guidance]
    assert torch.equal(run.latents, sd3_reference(pipes["sd3"], guidance, 1, [PROMPT] * STEPS))


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def bare(pipe, prompt, **kwargs):
    """The pipeline called by hand, as diffusers documents it: its unpacked final latents."""
    generator = torch.Generator().manual_seed(SEED)
    out = pipe(prompt, num_inference_steps=STEPS, height=SIZE, width=SIZE, generator=generator, output_type="latent",
               **kwargs).images  # fmt: skip
    return pipe._unpack_latents(out, SIZE, SIZE, pipe.vae_scale_factor) if out.ndim == 3 else out


@pytest.mark.parametrize(
    ("kind", "runner_args", "pipe_args"),
    [
        ("sd3", {"guidance_scale": 5.0}, {"guidance_scale": 5.0}),
        ("sd3", {"guidance_scale": 1.0}, {"guidance_scale": 1.0}),
        ("flux-dev", {"guidance_scale": 3.5}, {"guidance_scale": 3.5}),
        ("flux-dev", {"guidance_scale": 3.5, "true_cfg_scale": 3.0}, {"guidance_scale": 3.5, "true_cfg_scale": 3.0}),
        ("flux-schnell", {"guidance_scale": 4.0}, {"true_cfg_scale": 4.0}),  # its guidance is true CFG
    ],
)
def test_an_unsteered_run_with_a_negative_prompt_is_the_bare_pipelines(pipes, kind, runner_args, pipe_args):
    """Two prompts, two images each: the runner's embeddings, repeated per image, and its
    transformer wrappers change nothing where nothing is steered."""
    extra = {} if kind == "sd3" else {"max_sequence_length": TOKENS}
    runner = Runner(pipes[kind], cpu_threads=1)
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    run = runner.generate(ROWS, num_images_per_prompt=2, **args, **runner_args, **extra)
    assert run.status is RunStatus.FINISHED, run.traceback
    expected = bare(pipes[kind], ROWS, negative_prompt=[NEGATIVE] * 2, num_images_per_prompt=2, **pipe_args, **extra)
    assert torch.equal(run.latents, expected)


def test_flux_dev_true_cfg_without_a_negative_prompt_is_the_bare_pipelines(pipes):
    pipe = pipes["flux-dev"]
    args = {"guidance_scale": 3.5, "true_cfg_scale": 3.0, "max_sequence_length": TOKENS}
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE,
                                               width=SIZE, **args)  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    assert torch.equal(run.latents, bare(pipe, PROMPT, **args))


class SwapEmbeds(PipelineCallback):
    """A user's callback that conditions the steps after step 3 on other T5 embeddings, the one
    prompt tensor ``FluxPipeline`` takes back from a callback (``prompt_embeds``)."""

    tensor_inputs = ["prompt_embeds"]

    def __init__(self, embeds):
        super().__init__()
        self.embeds = embeds

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        if step_index == 3:
            callback_kwargs["prompt_embeds"] = self.embeds.to(callback_kwargs["prompt_embeds"])
        return callback_kwargs


@pytest.mark.parametrize(
    "kind",
    [
        "sd3",
        "flux-dev",
    ],
)  # fmt: skip
def test_a_user_callbacks_prompt_embeds_reach_the_transformer_as_in_the_bare_pipeline(pipes, kind):
    pipe = pipes[kind]
    extra = {} if kind == "sd3" else {"max_sequence_length": TOKENS}
    if kind == "sd3":  # CFG on: the loop holds [unconditional, conditional]
        cond, uncond = pipe.encode_prompt("a green circle", None, None, device="cpu", negative_prompt=NEGATIVE)[:2]
        embeds, extra["negative_prompt"] = torch.cat([uncond, cond]), NEGATIVE
    else:
        embeds = pipe.encode_prompt("a green circle", None, device="cpu", max_sequence_length=TOKENS)[0]
    run = Runner(pipe, cpu_threads=1).generate(
        PROMPT, num_inference_steps=STEPS, guidance_scale=3.5, seed=SEED, height=SIZE, width=SIZE,
        callbacks=[SwapEmbeds(embeds)], **extra,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    swap = {"callback_on_step_end": SwapEmbeds(embeds), "callback_on_step_end_tensor_inputs": ["prompt_embeds"]}
    expected = bare(pipe, PROMPT, guidance_scale=3.5, **swap, **extra)
    assert not torch.equal(expected, bare(pipe, PROMPT, guidance_scale=3.5, **extra))
    assert torch.equal(run.latents, expected)


def test_sd3s_own_cfg_cutoff_callback_composes_as_in_the_bare_pipeline(pipes):
    pipe, cutoff = pipes["sd3"], SD3CFGCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=3)
    args = {"negative_prompt": NEGATIVE, "guidance_scale": 5.0}
    run = Runner(pipe, cpu_threads=1).generate(
        PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE, callbacks=[cutoff], **args
    )
    assert run.status is RunStatus.FINISHED, run.traceback
    assert [step.cfg for step in run.steps] == [True] * 4 + [False] * (STEPS - 4)
    assert torch.equal(run.latents, bare(pipe, PROMPT, callback_on_step_end=cutoff, **args))


@pytest.fixture(scope="module")
def ip_pipe():
    return add_ip_adapter(tiny_sd_pipeline())


def ip_scales(pipe):
    return [list(p.scale) for p in pipe.unet.attn_processors.values() if hasattr(p, "scale")]


def test_an_ip_adapter_run_that_fails_puts_the_users_scale_and_the_unet_back(ip_pipe):
    runner = Runner(ip_pipe, cpu_threads=1)
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "ip_adapter_image": IMAGE}
    ip_pipe.set_ip_adapter_scale(0.5)
    try:
        before = runner.generate(PROMPT, guidance_scale=4.0, **args)
        cutoff = IPAdapterScaleCutoffCallback(cutoff_step_ratio=None, cutoff_step_index=0)
        failed = runner.generate(PROMPT, guidance_scale=4.0, callbacks=[cutoff, Raising(RuntimeError("boom"))], **args)
        assert failed.status is RunStatus.FAILED and "boom" in failed.traceback
        assert {tuple(scale) for scale in ip_scales(ip_pipe)} == {(0.5,)}
        assert "forward" not in vars(ip_pipe.unet)
        assert torch.equal(runner.generate(PROMPT, guidance_scale=4.0, **args).latents, before.latents)
    finally:
        ip_pipe.set_ip_adapter_scale(1.0)


def test_an_ip_adapter_branch_from_the_first_or_the_last_step(ip_pipe):
    runner = Runner(ip_pipe, cpu_threads=1)
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "ip_adapter_image": IMAGE}
    parent = runner.generate(PROMPT, guidance_scale=1.0, num_images_per_prompt=2, **args)
    first = runner.branch(parent, 0, guidance_schedule=[5.0] * 3 + [0.5] * (STEPS - 3))
    assert first.wait(60) and first.status is RunStatus.FINISHED, first.traceback
    fresh = runner.generate(PROMPT, guidance_schedule=first.guidance, num_images_per_prompt=2, **args)
    assert torch.equal(first.latents, fresh.latents) and not torch.equal(first.latents, parent.latents)
    last = runner.branch(parent, STEPS, guidance_scale=5.0)
    assert last.wait(60) and last.status is RunStatus.FINISHED, last.traceback
    assert torch.equal(last.latents, parent.latents)


@pytest.fixture(scope="module")
def refiner():
    """SDXL image-to-image with aesthetic-score time ids, as tests/test_refiner.py builds it."""
    base = tiny_sdxl_pipeline().components
    torch.manual_seed(1)
    config = {**base["unet"].config, "projection_class_embeddings_input_dim": 5 * 8 + 32, "cross_attention_dim": 32}
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=base["vae"], text_encoder=None, tokenizer=None, text_encoder_2=base["text_encoder_2"],
        tokenizer_2=base["tokenizer_2"], unet=UNet2DConditionModel.from_config(config), scheduler=base["scheduler"],
        requires_aesthetics_score=True,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


class CfgOnAfterFirstStep(PipelineCallback):
    """Switches CFG on after step 0 as the pipeline would have run it: the negative embeddings, and
    the unconditional time ids by its rule (the sizes of the conditional row, the negative aesthetic
    score, 2.5 by default)."""

    tensor_inputs = ["prompt_embeds", "add_text_embeds", "add_time_ids"]

    def __init__(self, negative, negative_pooled):
        super().__init__()
        self.negative, self.negative_pooled = negative, negative_pooled

    def callback_fn(self, pipe, step_index, timestep, kwargs):
        if step_index != 0:
            return kwargs
        pipe._guidance_scale = 7.0
        negative_time_ids = kwargs["add_time_ids"].clone()
        negative_time_ids[:, -1] = 2.5
        return {
            "prompt_embeds": torch.cat([self.negative, kwargs["prompt_embeds"]]),
            "add_text_embeds": torch.cat([self.negative_pooled, kwargs["add_text_embeds"]]),
            "add_time_ids": torch.cat([negative_time_ids, kwargs["add_time_ids"]]),
        }


@pytest.mark.parametrize(
    "given",
    [
        "image",
        "latents",
    ],
)  # fmt: skip
def test_a_refiner_given_the_bases_latents_switches_cfg_on_with_the_pipelines_own_time_ids(refiner, given):
    """The base's latents are the refiner's usual input (diffusers' base + refiner recipe)."""
    base = Runner(tiny_sdxl_pipeline(), cpu_threads=1).generate(PROMPT, num_inference_steps=4, seed=1, height=64,
                                                                 width=64)  # fmt: skip
    image = base.latents if given == "latents" else base.image
    runner = Runner(refiner, cpu_threads=1)
    at_step(runner, 0, lambda run: run.set_guidance(7.0))
    args = {"image": image, "strength": 0.5, "num_inference_steps": STEPS}
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, guidance_scale=1.0, seed=SEED, **args)
    assert run.status is RunStatus.FINISHED, run.traceback
    recorded = (run.params["width"], run.params["height"])
    embeds = refiner.encode_prompt(PROMPT, device="cpu", do_classifier_free_guidance=True, negative_prompt=NEGATIVE)
    names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
    expected = refiner(
        **dict(zip(names, embeds, strict=True)), guidance_scale=1.0, generator=torch.Generator().manual_seed(SEED),
        output_type="latent", callback_on_step_end=CfgOnAfterFirstStep(embeds[1], embeds[3]), **args,
    ).images  # fmt: skip
    assert torch.equal(run.latents, expected)
    assert recorded == run.image.size == (64, 64)


def test_clip_skip_conditions_an_sd3_run_as_in_the_bare_pipeline(pipes):
    """(SD's own pipeline fails with clip_skip on transformers 5: its CLIPTextModel has no text_model.)"""
    pipe = pipes["sd3"]
    args = {"negative_prompt": NEGATIVE, "guidance_scale": 5.0, "clip_skip": 1}
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE,
                                               width=SIZE, **args)  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    expected = bare(pipe, PROMPT, **args)
    assert not torch.equal(expected, bare(pipe, PROMPT, **{**args, "clip_skip": None}))
    assert torch.equal(run.latents, expected)


@pytest.mark.parametrize("kind", list(FLUX))
def test_a_flux_run_of_rows_with_per_row_edits_replays_from_its_gallery(pipes, kind, tmp_path):
    runner = Runner(pipes[kind], cpu_threads=1)
    hands = [
        at_step(runner, 2, lambda run: (runner.set_prompt(EDITS, negative_prompt=NEGATIVES), run.set_guidance(0.5))),
        at_step(runner, 5, lambda run: run.set_guidance(6.0)),
    ]  # fmt: skip
    run = flux_run(runner, kind, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:
        undo()
    assert run.status is RunStatus.FINISHED, run.traceback
    again = runner.replay(Gallery.load(Gallery.from_run(run).save(tmp_path / kind)))
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.prompts == run.prompts == [{"step": 3, "prompt": EDITS, "negative_prompt": NEGATIVES}]
    assert again.guidance == run.guidance and torch.equal(again.latents, run.latents)


@pytest.mark.parametrize("end", ["last-step", "stop"])
def test_a_prompt_edit_asked_at_the_runs_last_step_is_not_recorded_and_the_run_replays(pipes, end):
    """No step is conditioned on it: a record saying one is would be wrong, and a replay refuses it."""
    runner = Runner(pipes["flux-schnell"], cpu_threads=1)
    at_step(runner, STEPS - 1 if end == "last-step" else 3, lambda run: (runner.set_prompt(EDITS), run.stop()))
    run = flux_run(runner, "flux-schnell", guidance_scale=4.0)
    assert len(run.steps) == (STEPS if end == "last-step" else 4)
    again = runner.replay(run)
    assert again.wait(60) and again.status is run.status and torch.equal(again.latents, run.latents)
    assert run.prompts == []


@pytest.mark.parametrize(
    "step",
    [
        0,
        3,
    ],
)  # fmt: skip
def test_a_branch_of_rows_given_one_prompt_keeps_its_rows(pipes, step):
    """One string is every row's prompt, at the first step as at any other (``Runner.set_prompt``)."""
    runner = Runner(pipes["flux-schnell"], cpu_threads=1)
    parent = flux_run(runner, "flux-schnell", guidance_scale=4.0)
    child = runner.branch(parent, step, prompt=EDITS[0])
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    schedule = [{"step": step, "prompt": [EDITS[0]] * 2}] if step else ()
    fresh = flux_run(runner, "flux-schnell", prompt=ROWS if step else [EDITS[0]] * 2, guidance_scale=4.0,
                     prompt_schedule=schedule)  # fmt: skip
    assert child.latents.shape[0] == 2 and torch.equal(child.latents, fresh.latents)
