"""The paid guidance lens in the widget without a browser (FLUX.1-dev, FLUX.2 [dev]): a lens
message on distilled guidance makes no model call and is refused with an ``offer`` (how many calls
a value costs); Preview asks again with ``paid`` and gets the step's frame at that value, one call,
made off the kernel's thread; that value then comes back with no call and no Preview; the note
under the chart says the same offer; a held run's next step is offered the same way, and Preview
there makes its own call early (Next step's) and one at the value, which Next step then applies."""

import io

import numpy as np
from PIL import Image
from test_widget import Browser, wait_for
from test_widget_lens import answer

from sdwidget import Runner, RunStatus, SamplerWidget
from sdwidget.testing import tiny_flux_pipeline
from sdwidget.testing.flux2_dev import tiny_flux2_dev_pipeline

GENERATE = {"type": "generate", "prompt": "a red star", "negative_prompt": "", "steps": 4, "seed": 1, "guidance": 3.5}
OFFER = (
    "no free guidance lens: guidance_scale is an input the model was trained with, not a weight of two halves; "
    "a preview costs one model call per value (Preview)"
)


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)))


class Computed:
    """The transformer's computations, seen by a module every one runs once."""

    def __init__(self, pipe):
        self.count = 0
        self.handle = pipe.transformer.x_embedder.register_forward_pre_hook(lambda *_: self._add())

    def _add(self):
        self.count += 1


def test_preview_pays_one_call_per_value_and_a_paid_value_comes_back_free():
    pipe = tiny_flux_pipeline()
    widget = SamplerWidget(Runner(pipe), pace=0)
    browser = Browser(widget)
    browser.say(GENERATE)
    run = widget.runner.run
    run.wait()
    wait_for(lambda: str(run.id) in widget.effects and widget.status == "finished")
    assert widget.effects[str(run.id)] == {"values": [None] * 4, "note": OFFER}
    computed = Computed(pipe)
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 7.0, "id": 1})
    meta, buffers = answer(browser, "lens", 1)
    assert (meta["refused"], meta["offer"], buffers, computed.count) == (OFFER, 1, [], 0), "a slider move is free"
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 7.0, "id": 2, "paid": True})  # Preview
    meta, (png,) = answer(browser, "lens", 2)
    assert computed.count == 1 and meta["paid"] and not meta["applied"] and meta["ran"] == 3.5
    assert "refused" not in meta and not meta["held"]
    lens = run.lens(1, 7.0)  # cached: no call
    assert np.array_equal(pixels(png), lens.frame.numpy()) and computed.count == 1
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 7.0, "id": 3})  # back to 7.0: no Preview
    meta, (again,) = answer(browser, "lens", 3)
    assert again == png and "refused" not in meta and computed.count == 1
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 3.5, "id": 4, "paid": True})
    meta, (own,) = answer(browser, "lens", 4)
    assert meta["applied"] and computed.count == 2, "the value it ran with is a value like any other: one call"
    assert np.array_equal(pixels(own), run.lens(1, 3.5).frame.numpy()) and computed.count == 2
    assert not np.array_equal(pixels(own), pixels(png)), "7.0 shows another picture"
    computed.handle.remove()


def test_preview_is_a_yes_or_no_and_a_held_step_is_offered_as_a_past_one():
    pipe = tiny_flux2_dev_pipeline()
    widget = SamplerWidget(Runner(pipe), pace=0)
    browser = Browser(widget)
    browser.say({"type": "lens", "run": 1, "step": 0, "guidance": 2.0, "id": 6, "paid": "yes"})
    assert "Preview must be pressed or not (true or false), got 'yes'" in widget.message, widget.message
    assert browser.messages == []
    browser.say({"type": "breakpoints", "steps": [2]})
    browser.say({**GENERATE, "negative_prompt": None})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 2 and widget.status == "paused")
    computed = Computed(pipe)
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 7.0, "id": 7})  # the slider, held
    meta, buffers = answer(browser, "lens", 7)
    assert (meta["refused"], meta["offer"], buffers, computed.count) == (OFFER, 1, [], 0), "no peek, no call"
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 7.0, "id": 8, "paid": True})  # Preview
    meta, (png,) = answer(browser, "lens", 8)
    assert computed.count == 2, "the step's own call (Next step's, made early) and one at 7.0"
    assert meta["held"] and not meta["applied"] and "refused" not in meta and run.status is RunStatus.PAUSED
    assert np.array_equal(pixels(png), run.lens(2, 7.0).frame.numpy()) and computed.count == 2
    wait_for(lambda: widget.lens.get("held") == {"run": run.id, "step": 2, "guidance": 7.0})  # a reload shows it
    browser.say({"type": "guidance", "value": 7.0})
    browser.say({"type": "resume"})
    run.wait()
    assert run.error is None and run.guidance == [3.5] * 2 + [7.0] * 2
    assert computed.count == 3, "step 2 stepped with the call paid for; step 3 made its own"
    assert np.array_equal(run.frames[2].numpy(), pixels(png)), "the step shows what its preview showed"
    computed.handle.remove()
