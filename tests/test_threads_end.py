"""A runner's preview-decode thread ends with its owner: widgets on the demo model made, run and
closed leave no thread behind once they are collected (each held ~3.6 MB for the process's life)."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from sdwidget import Runner, SamplerWidget, demo_pipeline
from sdwidget.preview import DecodedPreview


@pytest.fixture(scope="module")
def demo():
    return demo_pipeline()


def decoders() -> int:
    return sum(t.name == "sdwidget-preview-decode" and t.is_alive() for t in threading.enumerate())


def settle(predicate, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.02)
    return True


def test_widgets_made_run_and_closed_leave_no_decode_thread(demo):
    settle(lambda: False, seconds=0.2)  # collect what earlier tests left, so their threads can end first
    before = decoders()
    previews = []
    for seed in range(5):
        widget = SamplerWidget(demo)
        assert widget.runner is not None
        run = widget.generate("a red circle", num_inference_steps=2, seed=seed, pace=None)
        assert run.wait(60) and run.status.value == "finished"
        assert isinstance(widget.runner.preview, DecodedPreview) and decoders() > before, "its decoder ran"
        previews.append(weakref.ref(widget.runner.preview))
        widget.close()
        del widget, run
    assert settle(lambda: all(ref() is None for ref in previews)), "the closed widgets' previews were collected"
    # An earlier test's decoder may end meanwhile too: none of these five may remain.
    assert settle(lambda: decoders() <= before), f"{decoders() - before} decode threads outlived their widgets"


def test_a_live_runner_keeps_its_decoder_and_its_frames_stay_exact(demo):
    runner = Runner(demo)
    first = runner.generate("a red circle", num_inference_steps=3, seed=1)
    second = runner.generate("a red circle", num_inference_steps=3, seed=1)
    assert isinstance(runner.preview, DecodedPreview)
    thread = runner.preview._worker
    assert thread is not None and thread.is_alive(), "one thread serves every run of a live runner"
    assert [
        np.array_equal(a.frame.numpy(), b.frame.numpy()) for a, b in zip(first.steps, second.steps, strict=True)
    ] == [True] * 3
    assert first.frames[-1].numpy().shape == (64, 64, 3) and first.frames[-1].numpy().any()
    del runner, first, second
    assert settle(lambda: not thread.is_alive()), "the thread ends once the runner is gone"
