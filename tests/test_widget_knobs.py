"""The widget's knobs after the guidance without a browser: a knob message mid-run lands at the next
step as ``Run.knob_curves`` records it, a dragged curve of later steps lands exactly at its steps,
bad ones are refused naming the control, and the traits and history carry every knob's curve."""

import threading

import pytest
from conftest import at_step
from test_widget import GENERATE, Browser, wait_for

from sdwidget import Gallery, RunStatus, SamplerWidget

NAME = "guidance_rescale"


def test_the_model_knobs_and_their_asked_values_are_traits(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    assert [k["name"] for k in widget.knobs] == ["guidance_scale", NAME]
    assert widget.knob_values == {NAME: 0.0} and widget.knob_applied == {}


def test_a_knob_message_mid_run_lands_at_the_next_step(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    gate = threading.Event()
    at_step(widget.runner, 3, lambda run: gate.wait(10))
    browser.say(GENERATE)
    run = widget.runner.run
    wait_for(lambda: len(run.steps) == 4)
    browser.say({"type": "knob", "name": NAME, "value": 0.7})
    gate.set()
    run.wait()
    wait_for(lambda: widget.status == "finished")
    assert widget.message == ""
    assert run.knob_curves == {NAME: [0.0] * 4 + [0.7] * 8}
    assert widget.knob_applied == run.knob_curves and widget.knob_values == {NAME: 0.7}
    entry = next(e for e in widget.runs if e["key"] == run.id)
    assert entry["knobs"] == run.knob_curves, "the history carries each knob's curve"
    # The next run from the browser starts at the value asked for.
    browser.say({**GENERATE, "steps": 4})
    widget.runner.run.wait()
    assert widget.runner.run.knob_curves == {NAME: [0.7] * 4}


def test_a_dragged_knob_curve_lands_at_its_steps_and_a_hand_value_wins(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [3]})
    browser.say({**GENERATE, "steps": 10})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 3)
    browser.say({"type": "plan", "knob": NAME, "start": 3, "values": [0.2, 0.4, 0.6]})
    browser.say({"type": "plan", "knob": NAME, "start": 8, "values": [1.0]})
    browser.say({"type": "plan", "start": 5, "values": [2.0]})  # the guidance's own curve, as before
    browser.say({"type": "resume"})
    run.wait()
    assert widget.message == ""
    assert run.knob_curves[NAME] == [0.0] * 3 + [0.2, 0.4, 0.6, 0.6, 0.6, 1.0, 1.0]
    assert run.guidance == [5.0] * 5 + [2.0] * 5
    # A hand value after a plan drops the rest of that plan.
    browser.say({"type": "breakpoints", "steps": [2]})
    browser.say({**GENERATE, "steps": 6})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 2)
    browser.say({"type": "plan", "knob": NAME, "start": 4, "values": [0.9, 0.9]})
    browser.say({"type": "knob", "name": NAME, "value": 0.3})
    browser.say({"type": "resume"})
    run.wait()
    assert run.knob_curves[NAME] == [0.0] * 2 + [0.3] * 4, "a dragged curve is not a value asked for the next run"


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"type": "knob", "name": NAME, "value": 2}, "Guidance rescale must be between 0 and 1, got 2"),
        ({"type": "knob", "name": NAME, "value": "0.5"}, "Knob guidance_rescale must be a number"),
        ({"type": "knob", "name": NAME, "value": float("nan")}, "must be finite"),
        ({"type": "knob", "name": "eta", "value": 0.5}, "Knob: this model has no knob 'eta'"),
        ({"type": "knob", "name": 3, "value": 0.5}, "Knob: a knob's name must be short text"),
        ({"type": "knob", "name": NAME}, "Knob guidance_rescale must be a number, got NoneType"),
        ({"type": "knob", "name": NAME, "value": 0.5, "step": 1}, "Knob: unexpected fields 'step'"),
        ({"type": "plan", "knob": NAME, "start": 0, "values": [0.5]}, "Guidance curve: no run is going"),
        ({**GENERATE, "knob_schedules": {NAME: [3.0] * 12}}, "Guidance rescale curve must be between 0 and 1"),
        ({**GENERATE, "knob_schedules": {"eta": [0.1] * 12}}, "Guidance curve: this model has no knob 'eta'"),
        ({**GENERATE, "knob_schedules": [0.1]}, "Guidance curve: the knobs must be an object"),
    ],
)
def test_bad_knob_messages_are_refused_naming_the_control(sd_pipe, message, words):
    widget = SamplerWidget(sd_pipe, pace=0)
    Browser(widget).say(message)
    assert words in widget.message, widget.message
    assert widget.runner.run is None or widget.runner.run.done


def test_a_bad_knob_mid_run_is_refused_and_the_run_goes_on(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [2]})
    browser.say({**GENERATE, "steps": 6})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED)
    browser.say({"type": "plan", "knob": NAME, "start": 1, "values": [0.5]})
    assert "Guidance rescale curve: the step must be between 2" in widget.message, widget.message
    browser.say({"type": "plan", "knob": NAME, "start": 3, "values": [5.0]})
    assert "Guidance rescale curve must be between 0 and 1" in widget.message, widget.message
    browser.say({"type": "resume"})
    run.wait()
    assert run.status is RunStatus.FINISHED and run.knob_curves == {NAME: [0.0] * 6}


def test_branch_and_generate_carry_the_knobs_and_galleries_show_them(sd_pipe, tmp_path):
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path))
    browser = Browser(widget)
    browser.say({**GENERATE, "steps": 6, "knob_schedules": {NAME: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}})
    parent = widget.runner.run
    parent.wait()
    assert parent.knob_curves == {NAME: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}
    browser.say({"type": "branch", "run": parent.id, "step": 3, "guidance": 5.0, "knobs": {NAME: 0.9}})
    child = widget.runner.run
    child.wait()
    assert child is not parent and child.knob_curves == {NAME: [0.1, 0.2, 0.3, 0.9, 0.9, 0.9]}
    wait_for(lambda: widget.run_id == child.id and widget.status == "finished")
    assert widget.knob_applied == child.knob_curves and widget.knob_values == {NAME: 0.9}
    browser.say({"type": "branch", "run": parent.id, "step": 2, "knobs": {NAME: 4}})
    assert "Guidance rescale must be between 0 and 1" in widget.message
    path = widget.save_gallery(child.id)
    widget.add_gallery(Gallery.load(path))
    entry = widget.runs[-1]
    assert entry["key"] < 0 and entry["knobs"] == child.knob_curves, "a loaded gallery's knob curves"
    assert widget.set_knob("guidance_scale", 3.0) == 3.0 and widget.guidance == 3.0, "the first knob is the guidance"
