"""Step frames drawn later, through the widget: its sender draws them on its own thread while the
run goes on and its end draws the rest; every PNG the browser gets must be the frame its step would
have drawn at once, with the preview's map as it was then (the fitted map learns after each run)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from test_frames_hostile import Counting
from test_widget import GENERATE, Browser, wait_for

from sdwidget import Gallery, LatentPreview, RunStatus, SamplerWidget


def snapshot(preview) -> LatentPreview:
    """The runner's fitted map as it is now, frozen (it learns from every finished run)."""
    return LatentPreview(preview.weight.clone(), preview.bias.clone(), max_size=preview.max_size)


def eager(preview, run, step) -> np.ndarray:
    return LatentPreview.frame(preview, run._keep.get(step)).numpy()


def received(browser, run) -> dict[int, np.ndarray]:
    """Each step of ``run`` as the browser decoded it (the last copy of a step wins)."""
    return {
        meta["step"]: np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        for meta, png in browser.frames()
        if meta["run"] == run.id
    }


@pytest.mark.parametrize("ack", [True, False])
def test_every_frame_the_browser_gets_is_its_steps_eager_frame_run_and_branch(sd_pipe, ack):
    """``ack=False``: a stalled page, so frames bunch up and the sender draws a batch at once
    while the run's end draws the others."""
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget, ack=ack)
    before = snapshot(widget.runner.preview)
    browser.say({**GENERATE, "steps": 8})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished" and len(received(browser, run)) == 8)
    assert not torch.equal(before.weight, widget.runner.preview.weight), "the map learned from the run"
    frames = received(browser, run)
    for step in range(8):
        assert np.array_equal(frames[step], eager(before, run, step)), f"step {step}"
    parent_map = snapshot(widget.runner.preview)
    browser.say({"type": "branch", "run": run.id, "step": 3, "guidance": 2.0})
    child = widget.runner.run
    child.wait()
    wait_for(lambda: widget.run_id == child.id and widget.status == "finished" and len(received(browser, child)) == 8)
    frames = received(browser, child)
    for step in range(3):  # shared with the parent: its frames, drawn with the map it had
        assert np.array_equal(frames[step], eager(before, run, step)), f"shared step {step}"
    for step in range(3, 8):
        assert np.array_equal(frames[step], eager(parent_map, child, step)), f"branch step {step}"


def test_a_gallery_saved_while_the_run_is_held_and_after_it_holds_the_eager_frames(sd_pipe, tmp_path):
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path))
    browser = Browser(widget)
    before = snapshot(widget.runner.preview)
    browser.say({"type": "breakpoints", "steps": [4]})
    browser.say({**GENERATE, "steps": 8})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 4)
    held = widget.save_gallery()  # the saver reads the frames while the sender may be drawing them
    browser.say({"type": "resume"})
    run.wait()
    wait_for(lambda: widget.status == "finished" and len(received(browser, run)) == 8)
    after = widget.save_gallery()
    held_frames, after_frames = Gallery.load(held).frames, Gallery.load(after).frames
    assert len(held_frames) == 4 and len(after_frames) == 8
    for step in range(8):
        expected = eager(before, run, step)
        assert np.array_equal(after_frames[step], expected) and np.array_equal(received(browser, run)[step], expected)
        assert step >= 4 or np.array_equal(held_frames[step], expected)


class Flaky(Counting):
    """Draws every frame but its third (a user's preview with a corner case it cannot draw)."""

    def rgb(self, latents):
        if len(self.threads) == 2:
            self.threads.append("raised")
            raise RuntimeError("this preview cannot draw its third frame")
        return super().rgb(latents)


def test_a_preview_that_fails_on_a_later_frame_fails_the_run_in_the_widget_with_every_frame_sent(sd_pipe):
    """The sender draws the third frame and gets a blank one (it was killed by the exception before
    c9d88c9, and the widget showed 'running' for ever); the run fails as it ends, naming the step."""
    widget = SamplerWidget(sd_pipe, pace=5)  # 5 steps a second: the sender draws the third frame
    widget.runner.preview = preview = Flaky()
    browser = Browser(widget)
    before = snapshot(preview)
    browser.say({**GENERATE, "steps": 5})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "failed" and len(received(browser, run)) == 5, timeout=30)
    assert preview.threads[2] == "raised" and preview.threads[3].startswith("sdwidget-frames")
    assert "frame of step 3" in widget.error and "cannot draw its third frame" in widget.error
    assert run.image is not None and len(run.steps) == 5
    frames = received(browser, run)
    assert frames[2].shape == (1, 1, 3) and not frames[2].any(), "a blank frame for the one it could not draw"
    for step in (0, 1, 3, 4):
        assert np.array_equal(frames[step], eager(before, run, step)), f"step {step}"
