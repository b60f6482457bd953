"""Step frames drawn later, at the edges: a flow family whose view unpacks its latents, a decoder
net drawn on another thread, a slow preview that must never slow a step, a 1,000-step run that
nobody reads, which must end holding thumbnails, not latents."""

import gc
import queue
import threading
import time
import weakref

import numpy as np
import pytest
import torch
from diffusers.callbacks import PipelineCallback
from test_frames_hostile import Counting, assert_eager, undrawn

from sdwidget import Runner, RunStatus
from sdwidget.core.events import StepEvent
from sdwidget.preview import NetPreview
from sdwidget.preview.net import PreviewDecoder

RUN = dict(num_inference_steps=6, seed=3, height=64, width=64, keep_latents=True)


def read_as_they_come(runner) -> tuple[threading.Thread, list[np.ndarray]]:
    """A reader on its own thread, as the widget's sender: each step's frame, in order, at once."""
    events: queue.SimpleQueue = queue.SimpleQueue()
    runner.observe(lambda event: isinstance(event, StepEvent) and events.put(event.frame))
    seen: list[np.ndarray] = []

    def read() -> None:
        while (frame := events.get(timeout=120)) is not None:
            seen.append(frame.numpy().copy())

    thread = threading.Thread(target=read, name="reader")
    thread.start()
    runner.observe(lambda event: getattr(event, "status", None) and event.status.done and events.put(None))
    return thread, seen


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_a_flow_family_whose_view_unpacks_latents_draws_the_eager_frames(family):
    from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline

    pipe = tiny_sd3_pipeline() if family == "sd3" else tiny_flux_pipeline()
    preview = Counting(channels=pipe.vae.config.latent_channels)
    runner = Runner(pipe, preview=preview)
    thread, seen = read_as_they_come(runner)
    run = runner.generate("a red star", **{**RUN, "num_inference_steps": 4})
    thread.join(60)
    assert run.status is RunStatus.FINISHED and run._keep.get(0).ndim == 4, "kept as the view shows them"
    assert len(seen) == 4 and undrawn(run) == []
    assert_eager(preview, run)
    assert all(np.array_equal(seen[step], run.frames[step].numpy()) for step in range(4))


def test_a_decoder_net_drawn_on_the_readers_thread_equals_its_frame_drawn_at_once(sd_pipe):
    torch.manual_seed(0)
    preview = NetPreview(PreviewDecoder(latent_channels=4), max_size=32)
    runner = Runner(sd_pipe, preview=preview)
    thread, seen = read_as_they_come(runner)
    run = runner.generate("a red star", **RUN)
    thread.join(60)
    assert run.status is RunStatus.FINISHED and len(seen) == 6
    for step in range(6):
        eager = preview.frame(run._keep.get(step)).numpy()
        assert seen[step].shape == (32, 32, 3) and np.array_equal(seen[step], eager), f"step {step}"


class Slow(Counting):
    """A preview that takes ``PAUSE`` seconds a frame."""

    PAUSE = 0.4

    def rgb(self, latents):
        time.sleep(self.PAUSE)
        return super().rgb(latents)


class Clock(PipelineCallback):
    """Chained after the runner's hook: when each step, hook included, ended."""

    tensor_inputs: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        self.ends.append(time.perf_counter())
        return callback_kwargs


@pytest.mark.parametrize("reader", [True, False])
def test_a_slow_preview_never_slows_a_step_after_the_first(sd_pipe, reader):
    preview, clock = Slow(), Clock()
    runner = Runner(sd_pipe, preview=preview)
    thread, seen = read_as_they_come(runner) if reader else (None, [])
    started = time.perf_counter()
    run = runner.generate("a red star", callbacks=[clock], **{**RUN, "guidance_scale": 1.0})
    took = time.perf_counter() - started
    if thread is not None:
        thread.join(60)
    steps = np.diff(clock.ends)  # steps 1..5, each from the end of the one before, hook included
    # The tiny UNet's step is ~25 ms (up to ~200 on a 2-core CPU at load 6): a frame drawn in a
    # step would add 400 to it.
    assert len(steps) == 5 and steps.max() < Slow.PAUSE, steps
    assert undrawn(run) == [] and len(seen) == (6 if reader else 0)
    if not reader:  # step 0 drew at once; the five left are drawn as the run ends, then learn's measure
        assert took >= 7 * Slow.PAUSE and preview.threads.count("MainThread") == 7
    assert_eager(Counting(), run)  # the same map, without the pause


def test_a_thousand_steps_nobody_reads_end_as_thumbnails_not_latents(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    kept: list[weakref.ref] = []
    shapes: set[tuple[int, ...]] = set()
    alive: list[int] = []

    def note_kept(event) -> None:  # at step 900: the copies the frames of steps 1..899 hold
        if isinstance(event, StepEvent) and event.step == 900:
            for step in event.run.steps[1:900]:
                cells = [cell.cell_contents for cell in step.frame.ready._draw.__closure__]
                kept.extend(weakref.ref(c) for c in cells if isinstance(c, torch.Tensor))
            shapes.update(tuple(ref().shape) for ref in kept)
        if isinstance(event, StepEvent) and event.step == 999:
            alive.append(sum(ref() is not None for ref in kept))

    runner.observe(note_kept)
    run = runner.generate("a red star", num_inference_steps=1000, seed=0, height=32, width=32, guidance_scale=1.0)
    assert run.status is RunStatus.FINISHED and len(run.steps) == 1000
    assert len(kept) == 899 and shapes == {(1, 4, 16, 16)}
    assert alive == [899], "while it runs each step's frame keeps a copy of its latents"
    assert undrawn(run) == []
    gc.collect()
    assert sum(ref() is not None for ref in kept) == 0, "the copies go once their frames are drawn"
    assert {frame.numpy().shape for frame in run.frames} == {(16, 16, 3)}
    assert len(preview.threads) == 1001, "every frame drawn once, and learn's measure"
