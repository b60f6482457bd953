"""A lens's two pictures: ``Lens.frame``, the run's own preview (the demo's: the VAE's decode on
its worker), and ``Lens.quick``, made at once for a slider in motion (the demo's: its preview
decoder net, the picture the run shows for a step when the decode falls behind). Neither is made
until read; where the run's preview is cheap already they are one. The widget answers ``quick``
requests with the quick one and says which picture it sent."""

import io

import numpy as np
from PIL import Image
from test_widget import GENERATE, Browser
from test_widget_lens import answer, held_widget

from sdwidget import Runner, SamplerWidget, demo_pipeline
from sdwidget.preview import DecodedPreview
from sdwidget.testing import tiny_sd_pipeline


class Counted:
    """Counts a preview's frames (the lens's pictures call ``frame``)."""

    def __init__(self, preview):
        self.n, self.frame = 0, preview.frame
        preview.frame = self

    def __call__(self, *args, **kwargs):
        self.n += 1
        return self.frame(*args, **kwargs)


def test_the_demos_quick_picture_is_its_fallback_nets_and_the_frame_its_vae_decode():
    runner = Runner(demo_pipeline())
    assert isinstance(runner.preview, DecodedPreview)
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1, keep_latents=True)
    decoded, net = Counted(runner.preview), Counted(runner.preview.fallback)
    lens = run.lens(2, 7.5)
    assert (decoded.n, net.n) == (0, 0), "a lens not looked at draws nothing"
    assert lens.rough
    quick = lens.quick.numpy()
    assert (decoded.n, net.n) == (0, 1), "the quick picture decodes nothing"
    assert np.array_equal(quick, runner.preview.fallback.frame(lens.latents, last=True).numpy())
    assert np.array_equal(lens.frame.numpy(), runner.preview.frame(lens.latents, last=True).numpy())
    assert decoded.n == 2 and lens.quick is lens.quick, "each picture is made once"
    gap = np.abs(quick.astype(int) - lens.frame.numpy().astype(int)).mean()
    assert 0 < gap < 60, f"rougher than the decode, and near it: {gap:.1f}/255"


def test_where_the_preview_is_cheap_the_quick_picture_is_the_frame():
    runner = Runner(tiny_sd_pipeline())
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1, keep_latents=True)
    lens = run.lens(2, 7.5)
    assert not lens.rough and lens.quick is lens.frame


def test_the_widget_sends_the_quick_picture_while_the_slider_moves_and_says_so():
    widget, browser, run = held_widget(demo_pipeline(), at=2, steps=4)
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 7.0, "id": 1, "quick": True})
    meta, (png,) = answer(browser, "lens", 1)
    assert meta["picture"] == "quick" and meta["held"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), run.lens(2, 7.0).quick.numpy())
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 7.0, "id": 2})  # at rest
    meta, (png,) = answer(browser, "lens", 2)
    assert meta["picture"] == "decoded"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), run.lens(2, 7.0).frame.numpy())
    browser.say({"type": "lens", "run": run.id, "step": 2, "guidance": 7.0, "id": 3, "quick": "yes"})
    assert "A quick preview is asked or not (true or false), got 'yes'" in widget.message
    browser.say({"type": "resume"})
    run.wait()


def test_a_cheap_previews_answer_says_preview(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({**GENERATE, "steps": 4})
    run = widget.runner.run
    run.wait()
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 2.0, "id": 4, "quick": True})
    assert answer(browser, "lens", 4)[0]["picture"] == "preview"
