"""What a step keeps for its frame drawn later: the scheduler's x0 estimate as it is (no copy: it is
a tensor of its own each step), the loop's latents as a copy, and a copy of x0 too where a scheduler
hands it back as the loop's next latents. A callback chained after the runner's that writes into
the loop's latents in place must change no frame."""

import numpy as np
import pytest
from diffusers import EulerDiscreteScheduler
from diffusers.callbacks import PipelineCallback
from test_frames_hostile import Counting

from sdwidget import Runner, RunStatus
from sdwidget.preview import LatentPreview

RUN = dict(num_inference_steps=5, seed=4, height=64, width=64)


class Scribbler(PipelineCallback):
    """Chained after the hook: hands the loop a new tensor of the latents' values, so the run goes
    on as it would have, then overwrites the old one in place."""

    tensor_inputs = ["latents"]

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        latents = callback_kwargs["latents"]
        callback_kwargs["latents"] = latents.clone()
        latents.fill_(7.0)  # a value no step's latents or x0 hold: a frame of it is one flat colour
        return callback_kwargs


class SameTensor(EulerDiscreteScheduler):
    """Hands its x0 estimate back as the next latents themselves (as a last step may): x0 and the
    loop's latents are one tensor."""

    def step(self, model_output, timestep, sample, *args, return_dict=True, **kwargs):
        out = super().step(model_output, timestep, sample, *args, return_dict=True, **kwargs)
        mixed = out.prev_sample
        out.pred_original_sample = mixed
        return out if return_dict else (mixed, mixed)


def frames_equal_what_was_shown(runner) -> None:
    """Each frame is the preview of what the hook kept for the step (``keep_latents``: a copy made
    in the hook, before the callback chained after it wrote into the latents)."""
    run = runner.generate("a red star", callbacks=[Scribbler()], keep_latents=True, **RUN)
    assert run.status is RunStatus.FINISHED and len(run.frames) == 5
    for step, frame in enumerate(run.frames):
        expected = LatentPreview.frame(runner.preview, run._keep.get(step)).numpy()
        assert np.array_equal(frame.numpy(), expected), f"step {step}"
        assert np.ptp(frame.numpy()) > 0, f"step {step}'s frame shows the latents written after its step"


@pytest.mark.parametrize("show", ["x0", "latents"])
def test_a_callback_writing_into_the_loops_latents_changes_no_frame(sd_pipe, show):
    frames_equal_what_was_shown(Runner(sd_pipe, preview=Counting(), show=show))


def test_an_x0_that_is_the_loops_next_latents_is_copied(sd_pipe):
    scheduler = sd_pipe.scheduler
    sd_pipe.scheduler = SameTensor.from_config(scheduler.config)
    try:
        frames_equal_what_was_shown(Runner(sd_pipe, preview=Counting()))
    finally:
        sd_pipe.scheduler = scheduler
