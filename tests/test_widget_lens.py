"""The guidance lens in the widget without a browser: a lens message while a run is held answers
with the frame of the step to come at that value (and Next step then shows that very frame); What
if on a past step answers with its lens and Branch with this makes it real; the three views; every
refusal comes back as a message saying why; the effect trait holds ``Run.guidance_effect``."""

import io
import threading

import numpy as np
import pytest
from conftest import at_step
from PIL import Image
from test_widget import GENERATE, Browser, wait_for

from sdwidget import Gallery, Runner, RunStatus, SamplerWidget
from sdwidget.testing import tiny_flux_pipeline


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def answer(browser, kind, id):
    """The reply to request ``id``: (message, buffers)."""
    wait_for(lambda: any(m["type"] == kind and m["id"] == id for m, _ in browser.messages))
    return next((m, b) for m, b in browser.messages if m["type"] == kind and m["id"] == id)


def held_widget(pipe, guidance=5.0, at=3, steps=6):
    widget = SamplerWidget(pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [at]})
    browser.say({**GENERATE, "steps": steps, "guidance": guidance})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == at and widget.status == "paused")
    return widget, browser, run


def test_a_held_runs_next_step_is_previewed_at_the_sliders_value_and_next_step_shows_that_frame(sd_pipe):
    widget, browser, run = held_widget(sd_pipe)
    for id, value in enumerate((2.0, 9.0), start=1):
        browser.say({"type": "lens", "run": run.id, "step": 3, "guidance": value, "id": id})
    meta, (png,) = answer(browser, "lens", 2)
    assert meta["held"] and not meta["applied"] and meta["guidance"] == 9.0 and meta["ran"] is None
    assert np.array_equal(pixels(png), run.lens(3, 9.0).frame.numpy()), "the lens of step 4 at 9.0"
    assert widget.lens["held"] == {"run": run.id, "step": 3, "guidance": 9.0}, "a reloaded page shows it again"
    assert run.status is RunStatus.PAUSED and len(run.steps) == 3, "still held: nothing applied"
    browser.say({"type": "guidance", "value": 9.0})  # what the slider sends when released
    browser.say({"type": "step"})
    wait_for(lambda: len(run.steps) == 4 and run.status is RunStatus.PAUSED)
    assert run.steps[3].guidance == 9.0
    wait_for(lambda: any(m["step"] == 3 for m, _ in browser.frames()))
    frame = next(buf for m, buf in browser.frames() if m["step"] == 3)
    assert np.array_equal(pixels(frame), pixels(png)), "Next step shows what the preview showed"
    wait_for(lambda: "held" not in widget.lens)
    browser.say({"type": "resume"})
    run.wait()


def test_what_if_on_a_past_step_and_branch_with_this(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "lens_mode", "what_if": True})
    assert widget.lens == {"what_if": True}
    browser.say({**GENERATE, "steps": 6})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished")
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 2.0, "id": 7})
    meta, (png,) = answer(browser, "lens", 7)
    assert not meta["held"] and not meta["applied"] and meta["ran"] == 5.0
    lens = run.lens(2, 2.0)
    assert np.array_equal(pixels(png), lens.frame.numpy())
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 5.0, "id": 8})
    assert answer(browser, "lens", 8)[0]["applied"], "the value the step ran with"
    browser.say({"type": "branch", "run": run.id, "step": 2, "guidance": 2.0})  # Branch with this
    child = widget.runner.run
    assert child is not run
    child.wait()
    assert child.guidance == [5.0, 5.0] + [2.0] * 4
    assert (child.plan.keep.get(2) - lens.latents).abs().max().item() <= 1e-6, "the branch made it real"
    browser.say({"type": "views", "run": run.id, "step": 2, "id": 9})
    meta, buffers = answer(browser, "views", 9)
    assert meta["views"] == ["unconditional", "conditional", "guided"] and len(buffers) == 3
    views = run.lens_views(2)
    for name, buf in zip(meta["views"], buffers, strict=True):
        assert np.array_equal(pixels(buf), views[name].numpy()), name
    assert not np.array_equal(pixels(buffers[0]), pixels(buffers[1]))


def test_the_effect_trait_holds_the_guidance_effect_of_each_run(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({**GENERATE, "steps": 6})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished" and str(run.id) in widget.effects)
    wait_for(lambda: len(widget.effects[str(run.id)]["values"]) == 6)
    effect = run.guidance_effect()
    assert widget.effects[str(run.id)] == {"values": effect, "note": ""}
    assert all(value > 0 for value in effect)
    browser.say({**GENERATE, "steps": 4, "guidance": 1.0})  # CFG off: guidance changed nothing
    off = widget.runner.run
    off.wait()
    wait_for(lambda: len(widget.effects.get(str(off.id), {}).get("values", [])) == 4)
    assert widget.effects[str(off.id)]["values"] == [0.0] * 4 == off.guidance_effect()
    assert set(widget.effects) == {str(run.id), str(off.id)}


def test_refusals_come_back_as_messages_saying_why(sd_pipe, tmp_path):
    widget, browser, run = held_widget(sd_pipe, guidance=1.0)
    browser.say({"type": "lens", "run": run.id, "step": 3, "guidance": 6.0, "id": 1})
    refused = answer(browser, "lens", 1)[0]["refused"]
    assert (
        refused == "Step 4 runs with CFG off (one model pass): it has no preview above 1.0; 6.0 applies from step 5 "
        "on Next step or Resume"
    )
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 6.0, "id": 2})
    meta = answer(browser, "lens", 2)[0]  # a past step: its other half is offered (test_widget_lens_half.py)
    assert meta["refused"].startswith("Step 2 ran with CFG off (one model pass)") and meta["offer"] == 1
    browser.say({"type": "lens", "run": run.id, "step": 3, "guidance": 0.5, "id": 3})
    assert answer(browser, "lens", 3)[1], "at or below the off value the one half gives a preview"
    browser.say({"type": "resume"})
    run.wait()
    browser.say({"type": "lens", "run": 999, "step": 0, "guidance": 2.0, "id": 4})
    assert answer(browser, "lens", 4)[0]["refused"] == "No guidance lens: no run 999 in this widget's history"
    folder = Gallery.from_run(run).save(tmp_path / "g")
    widget.add_gallery(folder)
    browser.say({"type": "views", "run": widget.view, "step": 0, "id": 5})
    assert "a loaded gallery keeps no model outputs" in answer(browser, "views", 5)[0]["refused"]


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (
            {"type": "lens", "run": 1, "step": 0, "guidance": "high", "id": 6},
            "Guidance must be a number, got str 'high'",
        ),
        ({"type": "lens", "run": 1, "step": -1, "guidance": 2.0, "id": 6}, "Guidance lens: the step must be between 0"),
        ({"type": "lens", "run": 1, "step": 0, "guidance": 2.0}, "Guidance lens: the request must be an integer"),
        ({"type": "views", "run": 1, "step": 0, "id": 1, "guidance": 2.0}, "Three views: unexpected fields 'guidance'"),
        ({"type": "lens_mode", "what_if": "yes"}, "What if must be on or off (true or false), got 'yes'"),
        ({"type": "lens_mode", "views": 1}, "Three views must be on or off (true or false), got 1"),
    ],
)
def test_bad_lens_messages_are_refused_naming_the_control(sd_pipe, message, words):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say(message)
    assert words in widget.message, widget.message
    assert widget.lens == {} and browser.messages == []


def test_a_running_runs_next_step_is_not_previewed(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    gate = threading.Event()
    at_step(widget.runner, 1, lambda run: gate.wait(10))  # running, between steps 2 and 3
    browser.say({**GENERATE, "steps": 8})
    run = widget.runner.run
    wait_for(lambda: len(run.steps) == 2)
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 3.0, "id": 1})
    meta, buffers = answer(browser, "lens", 1)
    assert meta.get("refused") == "Step 3 has not run yet: its preview shows while the run is held (Pause)"
    assert buffers == [] and run.status is RunStatus.RUNNING and "held" not in widget.lens
    gate.set()
    run.wait()
    assert run.status is RunStatus.FINISHED


@pytest.fixture(scope="module")
def flux_widget():
    widget = SamplerWidget(Runner(tiny_flux_pipeline()), pace=0)
    return widget, Browser(widget)


def test_a_model_with_no_free_lens_says_so(flux_widget):
    widget, browser = flux_widget
    browser.say({"type": "generate", "prompt": "a red star", "negative_prompt": "", "steps": 3, "seed": 1,
                 "guidance": 3.5})  # fmt: skip
    run = widget.runner.run
    run.wait()
    wait_for(lambda: str(run.id) in widget.effects and widget.status == "finished")
    note = widget.effects[str(run.id)]["note"]
    assert widget.effects[str(run.id)]["values"] == [None] * 3 and note.startswith("no free guidance lens: ")
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 2.0, "id": 1})
    assert answer(browser, "lens", 1)[0]["refused"] == note
