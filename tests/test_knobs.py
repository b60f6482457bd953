"""Knobs after the guidance, per step: SD's and SDXL's ``guidance_rescale`` changed by hand, planned,
branched and replayed, against a reference loop written from ``StableDiffusionPipeline.__call__``
(its CFG formula, then diffusers' own ``rescale_noise_cfg``), no sdwidget code on that side."""

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
from PIL import Image
from test_guidance_oracle import (
    NEGATIVE,
    PROMPT,
    SEED,
    SIZE,
    STEPS,
    cat_conditioning,
    runner_like_reference,
    sd_conditioning,
    sdxl_conditioning,
)  # fmt: skip

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.gallery import schema
from sdwidget.testing import tiny_sd3_pipeline

RESCALE = "guidance_rescale"
COMMON = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}


@torch.no_grad()
def reference_loop(pipe, conditioning, guidance, rescale):
    """SD's loop: above 1, CFG on the batch [uncond, cond], then rescaled where rescale > 0."""
    cond, uncond = conditioning(pipe, PROMPT), conditioning(pipe, NEGATIVE)
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(STEPS)
    side = SIZE // pipe.vae_scale_factor
    latents = torch.randn((1, 4, side, side), generator=torch.Generator().manual_seed(SEED))
    latents = latents * scheduler.init_noise_sigma
    for i, t in enumerate(scheduler.timesteps):
        if guidance[i] > 1:
            model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            uncond_eps, cond_eps = pipe.unet(model_input, t, **cat_conditioning(uncond, cond)).sample.chunk(2)
            eps = uncond_eps + guidance[i] * (cond_eps - uncond_eps)
            if rescale[i] > 0:
                eps = rescale_noise_cfg(eps, cond_eps, guidance_rescale=rescale[i])
        else:
            eps = pipe.unet(scheduler.scale_model_input(latents, t), t, **cond).sample
        latents = scheduler.step(eps, t, latents).prev_sample
    return latents


def curve(start, changes):
    """Per step, ``start`` then each (step, value) from the step after it on, as a hand change lands."""
    values = [start] * STEPS
    for step, value in changes:
        values[step + 1 :] = [value] * (STEPS - step - 1)
    return values


GUIDANCE = (5.0, [(3, 0.8), (5, 6.0)])  # off for steps 4-5, where rescale has nothing to act on
RESCALES = (0.0, [(1, 0.7), (6, 0.3)])


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_rescale_changed_by_hand_mid_run_matches_the_reference_loop(family, sd_pipe, sdxl_pipe):
    pipe, conditioning = (sd_pipe, sd_conditioning) if family == "sd" else (sdxl_pipe, sdxl_conditioning)
    runner = runner_like_reference(pipe)
    for step, value in GUIDANCE[1]:
        at_step(runner, step, lambda run, value=value: run.set_guidance(value))
    for step, value in RESCALES[1]:
        at_step(runner, step, lambda run, value=value: run.set_knob(RESCALE, value))
    run = runner.generate(PROMPT, guidance_scale=GUIDANCE[0], **COMMON)
    assert run.status is RunStatus.FINISHED, run.traceback
    guidance, rescale = curve(*GUIDANCE), curve(*RESCALES)
    assert run.guidance == guidance and run.knob_curves == {RESCALE: rescale}
    assert [(steps, name) for steps, name, _ in run.knob_requests] == [(2, RESCALE), (7, RESCALE)]
    expected = reference_loop(pipe, conditioning, guidance, rescale)
    assert torch.allclose(run.latents, expected, atol=1e-5, rtol=1e-5), (run.latents - expected).abs().max()
    unrescaled = reference_loop(pipe, conditioning, guidance, [0.0] * STEPS)
    assert not torch.allclose(run.latents, unrescaled, atol=1e-3), "the knob changed the result: the test can fail"


def test_a_planned_rescale_curve_equals_the_same_values_set_by_hand(sd_pipe):
    rescale = curve(*RESCALES)
    runner = runner_like_reference(sd_pipe)
    planned = runner.generate(PROMPT, guidance_scale=5.0, knob_schedules={RESCALE: rescale}, **COMMON)
    assert planned.knob_curves == {RESCALE: rescale}
    assert planned.params["knob_schedules"] == {RESCALE: rescale}
    assert planned.params["pipe_kwargs"][RESCALE] == rescale[0]
    expected = reference_loop(sd_pipe, sd_conditioning, [5.0] * STEPS, rescale)
    assert torch.allclose(planned.latents, expected, atol=1e-5, rtol=1e-5)
    # A function of the step, and a start from the pipeline argument, plan the same.
    by_function = runner.generate(
        PROMPT, guidance_scale=5.0, knob_schedules={RESCALE: lambda step: rescale[step]}, **COMMON
    )
    assert torch.equal(by_function.latents, planned.latents)
    held = runner.generate(PROMPT, guidance_scale=5.0, guidance_rescale=0.7, **COMMON)
    assert held.knob_curves == {RESCALE: [0.7] * STEPS}
    expected = reference_loop(sd_pipe, sd_conditioning, [5.0] * STEPS, [0.7] * STEPS)
    assert torch.allclose(held.latents, expected, atol=1e-5, rtol=1e-5)


def test_a_branch_changes_the_knob_from_its_step_and_equals_a_fresh_run(sd_pipe):
    runner = runner_like_reference(sd_pipe)
    undo = at_step(runner, 2, lambda run: run.set_knob(RESCALE, 0.5))
    parent = runner.generate(PROMPT, guidance_scale=5.0, **COMMON)
    undo()  # the branches below are steered by their arguments alone
    assert parent.knob_curves[RESCALE] == [0.0] * 3 + [0.5] * 7
    child = runner.branch(parent, 5, guidance_rescale=0.9)
    child.wait()
    combined = [0.0] * 3 + [0.5] * 2 + [0.9] * 5
    assert child.status is RunStatus.FINISHED, child.traceback
    assert child.knob_curves == {RESCALE: combined}
    fresh = runner.generate(PROMPT, guidance_scale=5.0, knob_schedules={RESCALE: combined}, **COMMON)
    assert torch.equal(child.latents, fresh.latents)
    # Unchanged, the knob holds its value at the branch step; a schedule covers the branch's own steps.
    kept = runner.branch(parent, 5, guidance_scale=3.0)
    kept.wait()
    assert kept.knob_curves[RESCALE] == [0.0] * 3 + [0.5] * 7
    listed = runner.branch(parent, 8, knob_schedules={RESCALE: [0.1, 0.2]})
    listed.wait()
    assert listed.knob_curves[RESCALE] == [0.0] * 3 + [0.5] * 5 + [0.1, 0.2]


def test_a_gallery_records_every_knob_and_replays_it_exactly(sd_pipe, tmp_path):
    runner = runner_like_reference(sd_pipe)
    undo = [
        at_step(runner, 1, lambda run: run.set_knob(RESCALE, 0.6)),
        at_step(runner, 4, lambda run: run.set_guidance(0.5)),
    ]
    run = runner.generate(PROMPT, guidance_scale=5.0, **COMMON)
    for fn in undo:
        fn()
    saved = Gallery.from_run(run)
    saved.save(tmp_path / "g")
    loaded = Gallery.load(tmp_path / "g")
    assert loaded.knob_curves == run.knob_curves == {RESCALE: [0.0] * 2 + [0.6] * 8}
    assert loaded.knob_requests == [[2, RESCALE, 0.6]]
    again = runner.replay(loaded)
    again.wait()
    assert again.knob_curves == run.knob_curves and again.guidance == run.guidance
    assert torch.equal(again.latents, run.latents)
    # Overridden by name, the knob holds that value instead of the recorded curve.
    other = runner.replay(loaded, guidance_rescale=0.0)
    other.wait()
    assert other.knob_curves == {RESCALE: [0.0] * STEPS} and not torch.equal(other.latents, run.latents)


def test_knob_values_and_names_are_checked_with_a_clear_message(sd_pipe):
    runner = Runner(sd_pipe)
    with pytest.raises(ValueError, match="guidance_rescale must be between 0 and 1, got 1.5"):
        runner.set_knob(RESCALE, 1.5)
    with pytest.raises(ValueError, match="knob 'eta': this pipeline's knobs after the guidance are guidance_rescale"):
        runner.set_knob("eta", 0.1)
    with pytest.raises(TypeError, match="guidance_rescale must be a number"):
        runner.set_knob(RESCALE, "0.5")
    with pytest.raises(ValueError, match=r"knob_schedules\['guidance_rescale'\] has 3 values for 4 steps"):
        runner.start(PROMPT, num_inference_steps=4, knob_schedules={RESCALE: [0.1, 0.2, 0.3]})
    with pytest.raises(ValueError, match=r"knob_schedules\['guidance_rescale'\]\(2\): .*must be finite"):
        runner.start(PROMPT, num_inference_steps=4, knob_schedules={RESCALE: lambda s: float("nan") if s == 2 else 0})
    with pytest.raises(ValueError, match="guidance_rescale must be between 0 and 1"):
        runner.start(PROMPT, num_inference_steps=4, guidance_rescale=-0.5)
    with pytest.raises(ValueError, match="knobs after the guidance are none besides the guidance"):
        Runner(tiny_sd3_pipeline()).set_knob(RESCALE, 0.5)
    run = runner.generate(PROMPT, num_inference_steps=2, height=SIZE, width=SIZE)
    record = Gallery.from_run(run).metadata()
    record["steps"][1]["knobs"] = {}
    with pytest.raises(ValueError, match="every step must record the same knobs"):
        schema.check(record, "run.json")


def test_a_sweep_replays_the_knob_curves_and_records_them(sd_pipe, tmp_path):
    from sdwidget.sweep import load_source, sweep

    runner = runner_like_reference(sd_pipe)
    run = runner.generate(PROMPT, guidance_scale=5.0, knob_schedules={RESCALE: curve(*RESCALES)}, **COMMON)
    records = sweep(run, seeds=[SEED, SEED + 1], out=tmp_path / "s", model=sd_pipe, progress=False)
    assert [r["knobs"] for r in records] == [{RESCALE: curve(*RESCALES)}] * 2
    with Image.open(tmp_path / "s" / records[0]["image"]) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(run.image)), "the run's own seed, pixel-equal"
    source = load_source(tmp_path / "s" / "records" / f"{records[1]['name']}.json")
    assert source.knob_curves == {RESCALE: curve(*RESCALES)}
    again = runner.replay(source)
    again.wait()
    assert again.knob_curves == source.knob_curves and again.params["seed"] == SEED + 1
