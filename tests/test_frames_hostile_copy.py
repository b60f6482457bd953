"""A run's frames copied or pickled (``copy.deepcopy``, ``pickle``: a cache, another process), as
frames drawn at once could be: a frame drawn later travels as its pixels, drawn or not (a
``_Later`` holds a lock and its drawing: ``Frame.__reduce__``)."""

import copy
import pickle

import numpy as np
import pytest

from sdwidget import Runner, RunStatus


@pytest.mark.parametrize("travel", ["deepcopy", "pickle"])
def test_a_runs_frames_deepcopy_and_pickle_as_their_pixels(sd_pipe, travel):
    run = Runner(sd_pipe).generate("a red star", num_inference_steps=4, seed=0, height=64, width=64)
    assert run.status is RunStatus.FINISHED
    copied = copy.deepcopy(run.frames) if travel == "deepcopy" else pickle.loads(pickle.dumps(run.frames))
    for frame, original in zip(copied, run.frames, strict=True):
        assert np.array_equal(frame.numpy(), original.numpy())
