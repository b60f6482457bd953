"""The guidance interval (guidance only at steps [first, end), off elsewhere; Kynkäänniemi et al.
2024), given at the start and moved live, against references with no sdwidget code: for SD and
SDXL the hand-written loop of ``test_guidance_oracle`` (diffusers' models, scheduler and CFG
formula) with guidance 1.0 outside the interval; for a modular SDXL the modular pipeline's own
output with its guider's ``start`` and ``stop`` set to the interval (``test_modular``'s reference)."""

import pytest
import test_modular
import torch
from conftest import at_step
from diffusers.guiders import ClassifierFreeGuidance
from test_guidance_oracle import (
    NEGATIVE,
    PROMPT,
    SEED,
    SIZE,
    STEPS,
    reference_loop,
    runner_like_reference,
    sd_conditioning,
    sdxl_conditioning,
)  # fmt: skip
from test_modular import GUIDERS, reference

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.core.interval import fraction
from sdwidget.testing import tiny_flux_pipeline, tiny_modular_sdxl_pipeline

COMMON = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
OFF = 1.0


def inside(first, end, value=5.0):
    return [value if first <= i < end else OFF for i in range(STEPS)]


def generate(runner, **kwargs):
    run = runner.generate(PROMPT, **{"guidance_scale": 5.0, **COMMON, **kwargs})
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


def same(run, expected):
    """Bit for bit, and the max difference in the message where not."""
    assert torch.equal(run.latents, expected), (run.latents - expected).abs().max()


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_an_interval_given_at_the_start_equals_the_reference_loop(family, sd_pipe, sdxl_pipe):
    pipe, conditioning = (sd_pipe, sd_conditioning) if family == "sd" else (sdxl_pipe, sdxl_conditioning)
    run = generate(runner_like_reference(pipe), guidance_interval=(3, 7))
    curve = inside(3, 7)
    assert run.guidance == curve and [step.cfg for step in run.steps] == [g > 1 for g in curve]
    assert run.params["guidance_interval"] == [3, 7] and run.params["guidance_schedule"] == curve
    same(run, reference_loop(pipe, conditioning, curve))
    assert not torch.equal(run.latents, reference_loop(pipe, conditioning, [5.0] * STEPS)), "the interval mattered"


def test_an_interval_moved_live_and_the_slider_keep_to_it(sd_pipe):
    runner = runner_like_reference(sd_pipe)
    at_step(runner, 0, lambda run: runner.set_guidance(7.0))  # before the interval: held for it, off until then
    at_step(runner, 4, lambda run: runner.set_guidance_interval(3, 9))  # widened: the held 7.0 comes back
    at_step(runner, 6, lambda run: runner.set_guidance(4.0))  # inside: from the next step, to the interval's end
    run = generate(runner, guidance_interval=(3, 6))
    curve = [OFF] * 3 + [7.0] * 4 + [4.0] * 2 + [OFF]
    assert run.guidance == curve
    assert run.params["guidance_interval"] == [3, 9], "the interval in force last is recorded"
    same(run, reference_loop(sd_pipe, sd_conditioning, curve))


def test_an_interval_set_live_on_a_run_started_without_one(sdxl_pipe):
    runner = runner_like_reference(sdxl_pipe)
    at_step(runner, 1, lambda run: runner.set_guidance_interval(4, 8))
    run = generate(runner)
    curve = [5.0] * 2 + [OFF] * 2 + [5.0] * 4 + [OFF] * 2
    assert run.guidance == curve
    same(run, reference_loop(sdxl_pipe, sdxl_conditioning, curve))


def test_replays_repeat_the_run_exactly_and_record_the_interval(sd_pipe, tmp_path):
    runner = runner_like_reference(sd_pipe)
    undo = at_step(runner, 4, lambda run: runner.set_guidance(6.0))
    run = generate(runner, guidance_interval=(2, 8))
    undo()
    assert run.guidance == [OFF] * 2 + [5.0] * 3 + [6.0] * 3 + [OFF] * 2
    again = runner.replay(run)
    again.wait()
    assert again.guidance == run.guidance and again.params["guidance_interval"] == [2, 8]
    assert torch.equal(again.latents, run.latents)
    Gallery.from_run(run).save(tmp_path / "g")
    loaded = runner.replay(Gallery.load(tmp_path / "g"))
    loaded.wait()
    assert loaded.guidance == run.guidance and torch.equal(loaded.latents, run.latents)
    # An interval moved during the run: the curve alone says what ran, and the replay repeats it.
    at_step(runner, 5, lambda run: runner.set_guidance_interval(0, 4))
    moved = generate(runner, guidance_interval=(2, 8))
    assert moved.guidance == [OFF] * 2 + [5.0] * 4 + [OFF] * 4
    runner._observers.clear()
    again = runner.replay(moved)
    again.wait()
    assert again.guidance == moved.guidance and again.params["guidance_interval"] is None
    assert torch.equal(again.latents, moved.latents)


def test_a_branch_keeps_the_interval_and_equals_a_fresh_run(sd_pipe):
    runner = runner_like_reference(sd_pipe)
    parent = generate(runner, guidance_interval=(3, 7))
    child = runner.branch(parent, 5, guidance_scale=3.0)
    child.wait()
    assert child.guidance == [OFF] * 3 + [5.0] * 2 + [3.0] * 2 + [OFF] * 3
    same(child, generate(runner, guidance_schedule=child.guidance).latents)
    same(child, reference_loop(sd_pipe, sd_conditioning, child.guidance))
    # Before the interval starts, a branch carries the guidance asked for, not the off value it ran at.
    early = runner.branch(parent, 2, guidance_interval=(2, 9))
    early.wait()
    assert early.guidance == [OFF] * 2 + [5.0] * 7 + [OFF] and early.params["guidance_interval"] == [2, 9]
    same(early, reference_loop(sd_pipe, sd_conditioning, early.guidance))


def test_on_a_modular_pipeline_the_interval_is_the_guiders_start_and_stop():
    pipe = tiny_modular_sdxl_pipeline(GUIDERS["cfg"]())
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    m, steps = test_modular, test_modular.STEPS  # its reference's prompt, seed, size and 8 steps
    settings = {"negative_prompt": m.NEGATIVE, "num_inference_steps": steps, "seed": m.SEED, "height": m.SIZE,
                "width": m.SIZE, "guidance_scale": 5.0}  # fmt: skip
    run = runner.generate(m.PROMPT, **settings, guidance_interval=(2, 6))
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.knob_curves["start"] == [0.25] * steps and run.knob_curves["stop"] == [0.75] * steps
    assert [step.cfg for step in run.steps] == [2 <= i < 6 for i in range(steps)]
    assert run.params["guidance_interval"] == [2, 6]
    own = tiny_modular_sdxl_pipeline(ClassifierFreeGuidance(guidance_scale=5.0, start=0.25, stop=0.75))
    same(run, reference(own, {}))
    assert not torch.equal(run.latents, reference(pipe, {})), "the interval mattered"
    assert pipe.guider._start == 0.0 and pipe.guider._stop == 1.0, "the user's guider is as it was"
    # Moved live after step 1: from step 2 on, the guider's start and stop say 3/8 and 5/8.
    at_step(runner, 1, lambda run: runner.set_guidance_interval(3, 5))
    live = runner.generate(m.PROMPT, **settings)
    assert [step.cfg for step in live.steps] == [True, True, False, True, True, False, False, False]
    same(live, reference(pipe, {2: {"_start": 3 / 8, "_stop": 5 / 8}}))
    assert live.params["guidance_interval"] == [3, 5]


@pytest.mark.parametrize(("first", "end", "steps"), [(15, 20, 22), (13, 23, 23), (0, 1, 1), (31, 39, 43)])
def test_the_fractions_give_the_guider_exactly_the_interval(first, end, steps):
    """``first / steps`` alone would start some guiders a step early: int(15 / 22 * 22) is 14."""
    guider = ClassifierFreeGuidance(guidance_scale=5.0, start=fraction(first, steps), stop=fraction(end, steps))
    on = []
    for step in range(steps):
        guider.set_state(step, steps, None)
        on.append(guider._is_cfg_enabled())
    assert on == [first <= step < end for step in range(steps)]


def test_what_cannot_be_limited_is_refused_naming_it(runner):
    with pytest.raises(TypeError, match="guidance_interval must be .first step, end step."):
        runner.start(PROMPT, guidance_interval=3)
    with pytest.raises(TypeError, match="guidance_interval's first step must be an integer"):
        runner.start(PROMPT, guidance_interval=(1.0, 3))
    with pytest.raises(ValueError, match="guidance_interval's end step must be between 4 and 10, got 12"):
        runner.start(PROMPT, num_inference_steps=10, guidance_interval=(3, 12))
    with pytest.raises(ValueError, match="guidance_interval's end step must be between 4 and"):
        runner.start(PROMPT, guidance_interval=(3, 3))
    with pytest.raises(RuntimeError, match="no run is going: give guidance_interval to start"):
        runner.set_guidance_interval(1, 3)
    flux = Runner(tiny_flux_pipeline())
    with pytest.raises(ValueError, match="guidance_interval: FluxPipeline's guidance is distilled, with no value"):
        flux.start(PROMPT, guidance_interval=(1, 3))
    with pytest.raises(ValueError, match="guidance_interval: FluxPipeline's guidance is distilled"):
        flux.set_guidance_interval(1, 3)
    modular = Runner(tiny_modular_sdxl_pipeline(GUIDERS["cfg"]()))
    with pytest.raises(ValueError, match="give guidance_interval or the guider's start and stop, not both"):
        modular.start(PROMPT, guidance_interval=(1, 3), start=0.5)
    assert runner.run is None and flux.run is None and modular.run is None, "nothing started"
