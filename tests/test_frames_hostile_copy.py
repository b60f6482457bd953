"""A run's frames copied or pickled (``copy.deepcopy``, ``pickle``: a cache, another process), as
frames drawn at once could be: a frame drawn later must travel as its pixels, drawn or not."""

import copy
import pickle

import numpy as np
import pytest

from sdwidget import Runner, RunStatus

LOCKED = (
    "b5dfb05: a frame drawn later keeps its _Later (a threading.Lock and the drawing closure) as "
    "Frame.ready after it is drawn, so copy.deepcopy and pickle.dumps of any step frame but the "
    "first raise TypeError: cannot pickle '_thread.lock' object (frames drawn at once copy). A fix "
    "in frame.py: Frame.__reduce__ returning (Frame, (torch.from_numpy(self.numpy()),))."
)


@pytest.mark.xfail(raises=TypeError, strict=True, reason=LOCKED)
@pytest.mark.parametrize("travel", ["deepcopy", "pickle"])
def test_a_runs_frames_deepcopy_and_pickle_as_their_pixels(sd_pipe, travel):
    run = Runner(sd_pipe).generate("a red star", num_inference_steps=4, seed=0, height=64, width=64)
    assert run.status is RunStatus.FINISHED
    copied = copy.deepcopy(run.frames) if travel == "deepcopy" else pickle.loads(pickle.dumps(run.frames))
    for frame, original in zip(copied, run.frames, strict=True):
        assert np.array_equal(frame.numpy(), original.numpy())
