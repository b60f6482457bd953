"""A preview that fails on one frame after its step (c9d88c9: the frame is blank for its reader,
the run fails as it ends, naming the step): what follows from such a run, its branch and replay."""

import numpy as np
from test_frames_hostile_widget import Flaky

from sdwidget import Runner, RunStatus

RUN = dict(num_inference_steps=5, seed=0, height=64, width=64)


def test_the_run_fails_naming_the_step_and_keeps_its_image_and_its_other_frames(sd_pipe):
    run = Runner(sd_pipe, preview=Flaky()).generate("a red star", **RUN)
    assert run.status is RunStatus.FAILED and "frame of step 3" in str(run.error)
    assert run.image is not None and run.branchable == 5
    shapes = [frame.numpy().shape for frame in run.frames]
    assert shapes == [(16, 16, 3)] * 2 + [(1, 1, 3)] + [(16, 16, 3)] * 2 and not run.frames[2].numpy().any()


def test_a_replay_of_that_run_draws_every_frame_and_finishes(sd_pipe):
    runner = Runner(sd_pipe, preview=Flaky())
    run = runner.generate("a red star", **RUN)
    replay = runner.replay(run)
    replay.wait()
    assert replay.status is RunStatus.FINISHED and replay.error is None
    assert np.array_equal(np.asarray(replay.image), np.asarray(run.image)), "the failure was the preview's alone"


def test_a_branch_past_the_failed_frame_finishes_when_its_own_frames_draw(sd_pipe):
    runner = Runner(sd_pipe, preview=Flaky())
    run = runner.generate("a red star", **RUN)
    branch = runner.branch(run, 4, guidance_scale=2.0)
    branch.wait()
    assert branch.frames[2] is run.frames[2] and branch.frames[4].numpy().shape == (16, 16, 3)
    assert branch.status is RunStatus.FINISHED, branch.error
