"""Step frames drawn later (``Preview.step_frame``), tried as a user would: a run stopped, failed,
paused and read, replayed, branched, batched; every frame equals the one its step would have drawn
at once from the latents it kept. The widget's path is in test_frames_hostile_widget.py."""

import threading

import numpy as np
import pytest
import torch
from conftest import at_step
from test_reliability import unet_from_call
from test_widget import wait_for

from sdwidget import Gallery, LatentPreview, Runner, RunStatus
from sdwidget.core.events import StepEvent

RUN = dict(num_inference_steps=6, seed=3, height=64, width=64, keep_latents=True)


class Counting(LatentPreview):
    """A map that notes the thread of every drawing (``rgb`` call)."""

    def __init__(self, channels: int = 4) -> None:
        weight = torch.randn(channels, 3, generator=torch.Generator().manual_seed(1))
        super().__init__(weight, torch.zeros(3), max_size=16)
        self.threads: list[str] = []
        self.lock = threading.Lock()

    def rgb(self, latents):
        with self.lock:
            self.threads.append(threading.current_thread().name)
        return super().rgb(latents)


def eager(preview, run, step) -> np.ndarray:
    """The frame step ``step`` would have drawn at once: ``Preview.frame`` of its kept latents."""
    kept = run._keep.get(step)
    return LatentPreview.frame(preview, kept[None] if kept.ndim == 3 else kept).numpy()


def undrawn(run) -> list[int]:
    """Steps whose frame still holds its latents, waiting for a reader."""
    return [i for i, frame in enumerate(run.frames) if getattr(frame.ready, "_draw", None) is not None]


def assert_eager(preview, run, steps=None) -> None:
    steps = range(len(run.steps)) if steps is None else steps
    for step in steps:
        assert np.array_equal(run.frames[step].numpy(), eager(preview, run, step)), f"step {step}"


def test_a_run_stopped_midway_draws_every_frame_it_kept_and_they_equal_the_eager_ones(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    at_step(runner, 2, lambda run: run.stop())
    run = runner.generate("a red star", **RUN)
    assert run.status is RunStatus.STOPPED and len(run.steps) == 3
    assert undrawn(run) == [], "a stopped run keeps thumbnails, not latents"
    assert_eager(preview, run)


def test_a_failed_run_draws_the_frames_of_the_steps_it_made_nan_step_included(sd_pipe):
    preview = Counting()
    with unet_from_call(sd_pipe, 2, lambda out: (out[0].fill_(float("nan")), out)[1]):
        run = Runner(sd_pipe, preview=preview).generate("a red star", **RUN)
    assert run.status is RunStatus.FAILED and "step 3" in str(run.error)
    assert len(run.steps) == 3 and undrawn(run) == []
    assert_eager(preview, run, range(2))
    # The fault is found after the frame is recorded, before its latents are kept: all NaN here.
    nan = torch.full_like(run._keep.get(1), float("nan"))
    assert np.array_equal(run.frames[2].numpy(), LatentPreview.frame(preview, nan).numpy())


def test_a_paused_run_read_between_steps_draws_on_the_reader_and_resumes_unchanged(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    run = runner.start("a red star", pause_at=[3], **RUN)
    wait_for(lambda: run.status is RunStatus.PAUSED)
    assert undrawn(run) == [1, 2], "the first step drew at once; 1 and 2 wait for a reader"
    gallery = Gallery.from_run(run)  # a gallery saved while the run is held reads its frames
    assert undrawn(run) == [] and preview.threads.count(threading.current_thread().name) == 2
    assert_eager(preview, run)
    run.resume()
    run.wait()
    assert run.status is RunStatus.FINISHED and undrawn(run) == []
    assert_eager(preview, run)
    after = Gallery.from_run(run)
    for step, frame in enumerate(gallery.frames):
        assert np.array_equal(frame, after.frames[step])


def test_a_replay_and_a_branch_of_a_held_run_nobody_read_show_the_same_frames(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    run = runner.generate("a red star", **RUN)
    replay = runner.replay(run, keep_latents=True)
    replay.wait()
    assert [r.status for r in (run, replay)] == [RunStatus.FINISHED] * 2
    for step in range(6):
        assert np.array_equal(replay.frames[step].numpy(), run.frames[step].numpy())
    assert_eager(preview, replay)
    held = runner.start("a red star", pause_at=[4], **RUN)
    wait_for(lambda: held.status is RunStatus.PAUSED)
    assert undrawn(held) == [1, 2, 3]
    branch = runner.branch(held, 3, guidance_scale=2.0, keep_latents=True)  # stops the held run first, which draws them
    branch.wait()
    assert held.status is RunStatus.STOPPED and branch.status is RunStatus.FINISHED
    assert all(branch.frames[step] is held.frames[step] for step in range(3)), "shared steps share frames"
    assert undrawn(held) == undrawn(branch) == []
    assert_eager(preview, held)
    assert_eager(preview, branch)
    assert not np.array_equal(branch.frames[5].numpy(), run.frames[5].numpy())


@pytest.mark.parametrize(
    "prompt, batch", [("a red star", dict(num_images_per_prompt=3)), (["a red star", "a blue moon"], dict(seed=[3, 4]))]
)
def test_a_batch_frame_is_the_grid_its_step_would_have_drawn(sd_pipe, prompt, batch):
    preview = Counting()
    run = Runner(sd_pipe, preview=preview).generate(prompt, **{**RUN, **batch})
    assert run.status is RunStatus.FINISHED and run._keep.get(0).shape[0] in (2, 3)
    assert undrawn(run) == []
    assert_eager(preview, run)


def test_eight_readers_of_one_frame_draw_it_once(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    seen: list[np.ndarray] = []
    start = threading.Barrier(8)

    def read(frame) -> None:
        start.wait(30)
        seen.append(frame.numpy().copy())

    readers: list[threading.Thread] = []

    def on_step(event) -> None:
        if isinstance(event, StepEvent) and event.step == 3:
            readers.extend(threading.Thread(target=read, args=(event.frame,)) for _ in range(8))
            for reader in readers:
                reader.start()

    runner.observe(on_step)
    run = runner.generate("a red star", **RUN)
    for reader in readers:
        reader.join(30)
    assert len(preview.threads) == 6 + 1, "six frames and learn's measure, each drawn once"
    assert len(seen) == 8 and all(np.array_equal(frame, eager(preview, run, 3)) for frame in seen)
