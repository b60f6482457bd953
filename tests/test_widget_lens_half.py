"""A step that ran with CFG off, in the widget without a browser: What if there at a value above
1.0 makes no model call and is refused with the offer in words (its unconditional half, one model
call, then every value at that step free); Preview asks again with ``paid`` and gets that step's
lens, one call, off the kernel's thread; another value at that step then comes back free."""

import io

import numpy as np
from PIL import Image
from test_widget import GENERATE, Browser, wait_for
from test_widget_lens import answer

from sdwidget import SamplerWidget
from sdwidget.testing import tiny_sd_pipeline

OFFER = (
    "Step 3 ran with CFG off (one model pass): its unconditional half was never computed. Preview computes it: "
    "one model call, then every value at this step is free"
)


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def test_what_if_on_a_step_run_without_cfg_offers_its_other_half_for_one_call():
    pipe = tiny_sd_pipeline()
    widget = SamplerWidget(pipe, pace=0)
    browser = Browser(widget)
    browser.say({**GENERATE, "steps": 4, "guidance": 1.0})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished")
    computed = []
    handle = pipe.unet.conv_in.register_forward_pre_hook(lambda *_: computed.append(1))
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 6.0, "id": 1})
    meta, buffers = answer(browser, "lens", 1)
    assert (meta["refused"], meta["offer"], buffers, computed) == (OFFER, 1, [], []), "a slider move is free"
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 6.0, "id": 2, "paid": True})  # Preview
    meta, (png,) = answer(browser, "lens", 2)
    assert len(computed) == 1 and meta["paid"] and not meta["applied"] and meta["ran"] == 1.0
    assert np.array_equal(pixels(png), run.lens(2, 6.0).frame.numpy()) and len(computed) == 1
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 3.0, "id": 3, "quick": True})
    meta, (other,) = answer(browser, "lens", 3)
    assert "refused" not in meta and not meta["applied"] and len(computed) == 1, "any value there is free now"
    assert np.array_equal(pixels(other), run.lens(2, 3.0).quick.numpy())
    assert not np.array_equal(pixels(other), pixels(png)), "3.0 shows another picture"
    browser.say({"type": "views", "run": run.id, "step": 2, "id": 4})
    assert answer(browser, "views", 4)[0]["views"] == ["unconditional", "conditional", "guided"]
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 6.0, "id": 5})
    assert answer(browser, "lens", 5)[0]["refused"] == OFFER.replace("Step 3", "Step 2"), "each step its own"
    handle.remove()
