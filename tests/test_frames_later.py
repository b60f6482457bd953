"""Step frames drawn off the step's path: on the CPU the step keeps a copy of its latents and the
frame is drawn by its first reader, or once the run ends, with the preview as it was at its step."""

import queue
import threading

import numpy as np
import torch
from diffusers.callbacks import PipelineCallback

from sdwidget import LatentPreview, Runner
from sdwidget.core.events import StepEvent
from sdwidget.preview import auto_preview

RUN = dict(num_inference_steps=5, seed=0, height=64, width=64, keep_latents=True)


class Steps(PipelineCallback):
    """Counts the steps the pipeline has finished (chained after the runner's hook)."""

    tensor_inputs: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.done = 0

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        self.done = step_index + 1
        return callback_kwargs


class Counting(LatentPreview):
    """Notes how many steps had finished each time it drew a frame."""

    def __init__(self, steps: Steps) -> None:
        super().__init__(torch.randn(4, 3, generator=torch.Generator().manual_seed(1)), torch.zeros(3), max_size=16)
        self.steps, self.drawn_at = steps, []

    def rgb(self, latents):
        self.drawn_at.append(self.steps.done)
        return super().rgb(latents)


def eager(preview, run, step):
    """The frame the step would have drawn at once: the same preview on the step's kept latents."""
    kept = run._keep.get(step)
    return LatentPreview.frame(preview, kept[None] if kept.ndim == 3 else kept).numpy()


def test_only_the_first_step_draws_its_frame_the_others_are_drawn_once_the_run_ends(sd_pipe):
    steps = Steps()
    preview = Counting(steps)
    run = Runner(sd_pipe, preview=preview).generate("a red star", callbacks=[steps], **RUN)
    assert run.status.value == "finished"
    # Step 0's frame is drawn inside its step (before the counting callback runs: 0 steps done);
    # no other step draws; the four left are drawn after the fifth step, as the run ends, then
    # the preview measures itself once on the final latents (Preview.learn).
    assert preview.drawn_at == [0, 5, 5, 5, 5, 5]
    for step in range(5):
        assert (run.frames[step].numpy() == eager(preview, run, step)).all()


def test_frames_read_by_an_observer_as_they_come_are_drawn_then_and_equal_the_eager_ones(sd_pipe):
    steps = Steps()
    preview = Counting(steps)
    runner = Runner(sd_pipe, preview=preview)
    runner.observe(lambda event: isinstance(event, StepEvent) and event.frame.numpy())
    run = runner.generate("a red star", callbacks=[steps], **RUN)
    # Observers are called in the step (as the event is emitted): step k's frame, read there, is
    # drawn while k steps are done; the sixth drawing is Preview.learn's measure.
    assert preview.drawn_at == [0, 1, 2, 3, 4, 5]
    for step in range(5):
        assert (run.frames[step].numpy() == eager(preview, run, step)).all()


def test_a_frame_read_on_another_thread_while_the_run_ends_is_drawn_once(sd_pipe):
    """The widget's sender reads frames on its own thread while the run's end draws those left:
    each frame is drawn by one of them, once."""
    steps = Steps()
    preview = Counting(steps)
    runner = Runner(sd_pipe, preview=preview)
    events: queue.SimpleQueue = queue.SimpleQueue()
    runner.observe(lambda event: isinstance(event, StepEvent) and events.put(event))
    seen: list[np.ndarray] = []

    def reader() -> None:
        for _ in range(5):
            seen.append(events.get(timeout=60).frame.numpy().copy())

    thread = threading.Thread(target=reader)
    thread.start()
    run = runner.generate("a red star", callbacks=[steps], **RUN)
    thread.join(60)
    assert len(preview.drawn_at) == 6, "five frames and learn's measure: none drawn twice"
    for step in range(5):
        assert (seen[step] == eager(preview, run, step)).all()
        assert (run.frames[step].numpy() == seen[step]).all()


def test_a_frame_drawn_at_the_end_shows_the_map_its_step_had_not_the_refit_after_the_run(sd_pipe):
    preview = auto_preview(sd_pipe)
    before = LatentPreview(preview.weight.clone(), preview.bias.clone(), max_size=preview.max_size)
    run = Runner(sd_pipe, preview=preview).generate("a red star", **RUN)
    assert not torch.equal(before.weight, preview.weight), "the fitted map learned from the run"
    for step in range(5):
        assert (run.frames[step].numpy() == eager(before, run, step)).all()


def test_a_preview_that_cannot_draw_fails_the_run_at_its_first_step(sd_pipe):
    class Broken(LatentPreview):
        def rgb(self, latents):
            raise RuntimeError("no map for these latents")

    preview = Broken(torch.randn(4, 3), torch.zeros(3))
    run = Runner(sd_pipe, preview=preview).generate("a red star", **RUN)
    assert run.status.value == "failed" and "no map for these latents" in str(run.error)
    assert len(run.steps) == 0, "the first step's frame is drawn inside the step"


def test_a_frame_the_preview_fails_to_draw_later_is_blank_for_its_reader_and_fails_the_run_naming_it(sd_pipe):
    class ThirdFails(LatentPreview):
        drawn = 0

        def rgb(self, latents):
            self.drawn += 1
            if self.drawn == 3:
                raise RuntimeError("no map for this one")
            return super().rgb(latents)

    preview = ThirdFails(torch.randn(4, 3), torch.zeros(3), max_size=16)
    runner = Runner(sd_pipe, preview=preview)
    read: list[np.ndarray] = []
    runner.observe(lambda event: isinstance(event, StepEvent) and read.append(event.frame.numpy()))
    run = runner.generate("a red star", **RUN)
    assert run.status.value == "failed" and len(run.steps) == 5, "the run went on: only a frame failed"
    assert str(run.error) == "the preview could not draw the frame of step 3: RuntimeError: no map for this one"
    assert run.image is not None, "the image the run made is kept"
    assert read[2].shape == (1, 1, 3) and not read[2].any(), "its reader got a blank frame, no exception"
    for step in (0, 1, 3, 4):
        assert (read[step] == eager(preview, run, step)).all()


def test_a_preview_with_a_frame_of_its_own_draws_in_the_step_in_step_order(sd_pipe):
    """A user's ``frame`` may keep state from step to step (as ``TinyPreview``'s does): it is
    called in the step, as before frames were drawn later, not on a reader's thread."""

    class OwnFrame(Counting):
        def frame(self, latents, *, last=False):
            self.drawn_at.append(("frame", self.steps.done))
            return super().frame(latents, last=last)

    steps = Steps()
    preview = OwnFrame(steps)
    Runner(sd_pipe, preview=preview).generate("a red star", callbacks=[steps], **RUN)
    calls = [entry for entry in preview.drawn_at if isinstance(entry, tuple)]
    assert calls == [("frame", done) for done in range(5)]
