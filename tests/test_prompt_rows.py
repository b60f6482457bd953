"""Prompt edits per row of a batch: a run started with a list of prompts takes a list of edits,
one per prompt (each prompt's ``num_images_per_prompt`` images take its own), by hand or in a
``prompt_schedule``; the result equals a hand-written loop that swaps each row's embeddings at
that step, and replays exactly from the run, from a loaded gallery and as a branch.

The reference encodes with ``test_batches.rows`` (transformers and diffusers only, no sdwidget
code) and follows the CFG batch layout ``[unconditional rows, conditional rows]``.
"""

import copy

import pytest
import torch
from conftest import at_step
from test_batches import NEGATIVES, PROMPTS, SEED, SIZE, STEPS, rows
from test_guidance_oracle import guided_eps, sd_conditioning, sdxl_conditioning

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.core.schedule import resolve_prompts
from sdwidget.gallery.schema import check

EDIT, EDIT_NEGATIVES = ["a green square", "a white cross"], ["dark", "noisy"]
N = 2  # images per prompt: rows p0, p0, p1, p1
# Guidance crosses 1.0 down after step 1 and back up after step 5; the prompts change after step 2.
GUIDANCE = [5.0] * 2 + [0.8] * 4 + [6.0] * 2
ARGS = {"num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE, "num_images_per_prompt": N}


@torch.no_grad()
def reference_loop(pipe, conditioning, guidance, prompts, negatives):
    """``prompts``/``negatives``: per step, what it is conditioned on (one text, or one per prompt)."""
    batch = len(PROMPTS) * N
    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    latents = torch.randn((batch, 4, side, side), generator=torch.Generator().manual_seed(SEED))
    latents = latents * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        cond, g = rows(pipe, conditioning, prompts[i], batch), guidance[i]
        uncond = rows(pipe, conditioning, negatives[i], batch) if g > 1 else None
        eps = guided_eps(pipe, scheduler, latents, t, cond, uncond, g)
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


pytestmark = pytest.mark.usefixtures("one_thread")


def steered(runner, **args):
    at_step(runner, 1, lambda run: run.set_guidance(0.8))
    at_step(runner, 5, lambda run: run.set_guidance(6.0))
    return runner.generate(PROMPTS, negative_prompt=NEGATIVES, guidance_scale=5.0, **ARGS, **args)


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_per_row_prompt_edit_matches_reference_and_replays(family, sd_pipe, sdxl_pipe, tmp_path):
    pipe, conditioning = (sd_pipe, sd_conditioning) if family == "sd" else (sdxl_pipe, sdxl_conditioning)
    runner = Runner(pipe, cpu_threads=1)
    at_step(runner, 2, lambda run: runner.set_prompt(EDIT, EDIT_NEGATIVES))  # steps 3.. on each row's edit
    run = steered(runner)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.guidance == GUIDANCE
    assert run.prompts == [{"step": 3, "prompt": EDIT, "negative_prompt": EDIT_NEGATIVES}]
    prompts, negatives = [PROMPTS] * 3 + [EDIT] * 5, [NEGATIVES] * 3 + [EDIT_NEGATIVES] * 5
    expected = reference_loop(pipe, conditioning, GUIDANCE, prompts, negatives)
    print(f"{family}: max difference {(run.latents - expected).abs().max().item():.3g}")
    assert run.latents.shape[0] == len(PROMPTS) * N and torch.equal(run.latents, expected)
    # Each row took its own prompt: swapping the edits between the rows gives other latents.
    crossed = reference_loop(pipe, conditioning, GUIDANCE, [PROMPTS] * 3 + [EDIT[::-1]] * 5, negatives)
    assert not torch.allclose(run.latents, crossed, atol=1e-3)
    again = runner.replay(run)
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert torch.equal(again.latents, run.latents) and again.prompts == run.prompts
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.prompts == run.prompts
    replayed = runner.replay(loaded)
    assert replayed.wait(60) and replayed.status is RunStatus.FINISHED, replayed.traceback
    assert torch.equal(replayed.latents, run.latents), "a gallery replays the per-row edit exactly"


def test_scheduled_and_branched_per_row_edits_equal_the_hand_edit(sd_pipe):
    """A string negative goes to every row of a per-row edit; a branch's per-row edit is a fresh run's."""
    runner = Runner(sd_pipe, cpu_threads=1)
    at_step(runner, 2, lambda run: runner.set_prompt(EDIT, "dark"))
    by_hand = steered(runner)
    assert by_hand.prompts == [{"step": 3, "prompt": EDIT, "negative_prompt": ["dark", "dark"]}]
    planned = steered(
        Runner(sd_pipe, cpu_threads=1), prompt_schedule=[{"step": 3, "prompt": EDIT, "negative_prompt": "dark"}]
    )
    assert planned.prompts == by_hand.prompts and torch.equal(planned.latents, by_hand.latents)
    fresh = Runner(sd_pipe, cpu_threads=1)  # no hand changes
    parent = fresh.generate(PROMPTS, negative_prompt=NEGATIVES, guidance_schedule=GUIDANCE, **ARGS)
    child = fresh.branch(parent, 3, prompt=EDIT, negative_prompt="dark", guidance_schedule=GUIDANCE[3:])
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.prompts == by_hand.prompts and child.guidance == GUIDANCE
    assert torch.equal(child.latents, by_hand.latents)
    assert not torch.allclose(child.latents, parent.latents, atol=1e-3)


def test_per_row_edits_are_checked(sd_pipe):
    runner = Runner(sd_pipe, cpu_threads=1)
    errors = []

    def edit(prompt, negative=None):
        try:
            runner.set_prompt(prompt, negative)
        except (TypeError, ValueError) as exc:
            errors.append(exc)

    at_step(runner, 1, lambda run: edit(["a", "b", "c"]))
    at_step(runner, 2, lambda run: edit("a", ["b"]))
    at_step(runner, 3, lambda run: edit(["a", 3]))
    single = runner.generate("a red star", **ARGS)
    assert single.status is RunStatus.FINISHED and single.prompts == []
    assert [type(e) for e in errors] == [TypeError] * 3
    assert all("run was started with one prompt" in str(e) for e in errors)
    errors.clear()
    batch = runner.generate(PROMPTS, **ARGS)  # the same three edits
    assert batch.status is RunStatus.FINISHED and batch.prompts == []
    assert [str(e) for e in errors] == [
        "prompt must be one string or a list of one per prompt of the run (2), got 3",
        "negative_prompt must be one string or a list of one per prompt of the run (2), got 1",
        "prompt[1] must be a string, got int",
    ]
    with pytest.raises(ValueError, match=r"prompt_schedule\[1\] prompt must be one string or a list of one per"):
        resolve_prompts([{"step": 2, "prompt": "x"}, {"step": 3, "prompt": ["x"]}], STEPS, PROMPTS)
    with pytest.raises(TypeError, match=r"prompt_schedule\[0\] negative_prompt must be one string: the run was"):
        resolve_prompts([{"step": 2, "prompt": "x", "negative_prompt": ["y", "z"]}], STEPS, "one")


def test_gallery_schema_takes_a_per_row_prompt_change(sd_pipe):
    record = Gallery.from_run(Runner(sd_pipe).generate(PROMPTS, num_inference_steps=2, seed=0)).metadata()
    check({**record, "prompts": [{"step": 1, "prompt": EDIT, "negative_prompt": None}]}, "here")
    for bad in ([], ["a", 3]):
        with pytest.raises(ValueError, match="here is not a valid sdwidget gallery: prompts.0.prompt"):
            check({**record, "prompts": [{"step": 1, "prompt": bad, "negative_prompt": None}]}, "here")
