"""Reliability round 3 (the engine's part): branches of branches at any depth equal a fresh run,
and one pipeline runs one generation at a time across every Runner and widget holding it."""

from __future__ import annotations

import time

import pytest
import torch

from sdwidget import Runner, RunStatus, SamplerWidget
from sdwidget.testing import tiny_sd_pipeline

PROMPT, STEPS = "a red star on a blue background", 12
ARGS = {"num_inference_steps": STEPS, "seed": 5, "height": 32, "width": 32}

pytestmark = pytest.mark.usefixtures("one_thread")


def held(run):
    """``run`` once it holds at its breakpoint: a resume before it gets there would not count."""
    deadline = time.monotonic() + 60
    while run.status is not RunStatus.PAUSED:
        assert time.monotonic() < deadline and not run.done, run.status
        time.sleep(0.01)
    return run


@pytest.mark.parametrize("scheduler", ["euler", "dpm-karras", "euler-a"])
def test_a_branch_of_a_branch_of_a_branch_equals_a_fresh_run(scheduler):
    runner = Runner(tiny_sd_pipeline(scheduler=scheduler))
    parent = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    child = runner.branch(parent, 8, guidance_scale=0.8)  # CFG off from step 9
    child.wait()
    grandchild = runner.branch(child, 10, guidance_scale=6.0)  # back on from 11, past the child's own start
    grandchild.wait()
    great = runner.branch(grandchild, 3, guidance_scale=1.0)  # before every branch point: the parent's steps
    great.wait()
    assert [run.status for run in (child, grandchild, great)] == [RunStatus.FINISHED] * 3, great.traceback
    assert grandchild.guidance == [5.0] * 8 + [0.8] * 2 + [6.0] * 2
    assert great.guidance == [5.0] * 3 + [1.0] * 9
    for run in (grandchild, great):
        fresh = runner.generate(PROMPT, guidance_schedule=run.guidance, **ARGS)
        assert torch.equal(run.latents, fresh.latents), (run.latents - fresh.latents).abs().max()
    # What a branch fed the wrong steps' outputs would equal instead:
    assert not torch.equal(grandchild.latents, child.latents)


def test_a_branch_keeps_every_step_so_it_can_be_branched_anywhere():
    runner = Runner(tiny_sd_pipeline())
    parent = runner.generate(PROMPT, guidance_scale=5.0, **ARGS)
    child = runner.branch(parent, 5, guidance_scale=1.0)
    child.wait()
    assert child.branchable == STEPS, "the shared steps are kept too"
    late = runner.branch(child, 11, guidance_scale=3.0)  # was refused, blaming the branch budget
    late.wait()
    early = runner.branch(child, 3)  # was ValueError: not enough values to unpack
    early.wait()
    assert late.status is early.status is RunStatus.FINISHED, early.traceback
    assert late.guidance == [5.0] * 5 + [1.0] * 6 + [3.0] and early.guidance == [5.0] * STEPS
    for run in (late, early):
        fresh = runner.generate(PROMPT, guidance_schedule=run.guidance, **ARGS)
        assert torch.equal(run.latents, fresh.latents)


def test_a_second_runner_on_a_busy_pipeline_is_refused_and_corrupts_nothing(sd_pipe):
    first, second = Runner(sd_pipe), Runner(sd_pipe)
    alone = first.generate(PROMPT, guidance_scale=5.0, **ARGS)
    going = held(first.start(PROMPT, guidance_scale=5.0, pause_at=[3], **ARGS))  # paused: still going
    try:
        with pytest.raises(RuntimeError, match="busy with .*another Runner.*one generation at a time"):
            second.start(PROMPT, **ARGS)
    finally:
        going.resume()
        going.wait()
    assert going.status is RunStatus.FINISHED and torch.equal(going.latents, alone.latents)
    after = second.generate(PROMPT, guidance_scale=5.0, **ARGS)  # free again once it ended
    assert torch.equal(after.latents, alone.latents)


def test_a_widget_on_a_pipeline_a_runner_is_using_says_so(sd_pipe):
    runner = Runner(sd_pipe)
    widget = SamplerWidget(sd_pipe)
    going = held(runner.start(PROMPT, guidance_scale=5.0, pause_at=[2], **ARGS))
    try:
        widget._on_message(widget, {"type": "generate", "prompt": PROMPT, "steps": 4, "guidance": 5.0}, [])
        assert "busy" in widget.message and "one generation at a time" in widget.message
        assert widget.runner is not None and widget.runner.run is None, "the widget started nothing"
    finally:
        going.resume()
        going.wait()
        widget.close()
    assert going.status is RunStatus.FINISHED
