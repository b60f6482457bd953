"""The guidance lens the page draws itself (``widget/lens_local.py``, ``core/lens_affine.py``).

A preview's recipe, run by a reference written here in numpy from torch's documented ops (no
sdwidget code), gives the preview's own ``rgb`` (torch) to 1/255; the affine part the widget
sends gives ``run.lens(step, g).latents`` at five values to 1e-5, and with the recipe the lens's
quick picture; the widget refuses it where the lens is not affine (a guidance rescale, a scheduler
clipping its x0), where a step ran one half, where guidance is a model input and where the preview
has no recipe. The recipe goes once per preview state: not again for a page holding its key, again
after a refit, a change to the net, or to a page holding none (reloaded)."""

import math

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from test_widget import wait_for
from test_widget_lens import answer, held_widget

from sdwidget import Runner, demo_pipeline
from sdwidget.preview import FittedPreview, LatentPreview, MapFit, Preview, small_decoder
from sdwidget.testing import tiny_sd_pipeline
from sdwidget.widget.lens_local import local_part
from sdwidget.widget.messages import parse

DEMO_KNOB = {"off_at": 1.0, "high": 100.0}  # the demo's guidance (SamplerWidget.knobs[0])


def reference(ops, tensors, latents):
    """``ops`` on ``(C, h, w)`` latents → ``(H, W, 3)`` uint8, in float64 numpy."""
    x, kept = latents.astype(np.float64), []
    for op in ops:
        kind, w, b = op["op"], tensors(op.get("weight")), tensors(op.get("bias"))
        if (
            kind == "conv"
        ):  # zero padding k // 2, stride 1: out[o] = Σ_c Σ_ij w[o, c, i, j] · x[c, y + i - p, x + j - p]
            p = w.shape[-1] // 2
            windows = sliding_window_view(np.pad(x, ((0, 0), (p, p), (p, p))), w.shape[-2:], axis=(1, 2))
            x = np.einsum("ocij,chwij->ohw", w, windows) + b[:, None, None]
        elif kind == "group_norm":  # biased variance over each group of channels and every pixel
            g = x.reshape(op["groups"], -1)
            g = (g - g.mean(1, keepdims=True)) / np.sqrt(g.var(1, keepdims=True) + op["eps"])
            x = g.reshape(x.shape) * w[:, None, None] + b[:, None, None]
        elif kind == "silu":
            x = x / (1 + np.exp(-x))
        elif kind == "push":
            kept.append(x)
        elif kind == "add":
            x = x + kept.pop()
        elif kind == "pixel_shuffle":  # (C·r², H, W) → (C, H·r, W·r)
            r, (c, h, wd) = op["factor"], x.shape
            x = x.reshape(c // r**2, r, r, h, wd).transpose(0, 3, 1, 4, 2).reshape(c // r**2, h * r, wd * r)
        elif kind == "clamp":
            x = np.clip(x, op["low"], op["high"])
        elif (
            kind == "pool"
        ):  # stride = kernel = ⌈longest side / max_size⌉, ceil mode: edge cells average what they hold
            s, (c, h, wd) = math.ceil(max(x.shape[1:]) / op["max_size"]), x.shape
            if s > 1:
                padded = np.full((c, -(-h // s) * s, -(-wd // s) * s), np.nan)
                padded[:, :h, :wd] = x
                x = np.nanmean(padded.reshape(c, -(-h // s), s, -(-wd // s), s), axis=(2, 4))
        elif kind in ("to_uint8", "bytes"):  # [-1, 1] rounded as the pipeline does; 0-255 units cast
            x = (x + 1) * 127.5 + 0.5 if kind == "to_uint8" else x
            return np.clip(x, 0, 255).astype(np.uint8).transpose(1, 2, 0)
        else:
            raise AssertionError(f"unknown op {kind}")
    raise AssertionError("the recipe ends with to_uint8 or bytes")


def off_by(ours, theirs):
    """(share of pixels within 1/255 in every channel, the worst difference), printed."""
    gap = np.abs(ours.astype(int) - np.asarray(theirs).astype(int)).max(axis=-1)
    print(f"within 1/255: {(gap <= 1).mean():.4%} of {gap.size} pixels, worst {gap.max()}/255")
    return (gap <= 1).mean(), gap.max()


def own(op_tensor):
    return None if op_tensor is None else op_tensor.double().numpy()


def fitted():
    g = torch.Generator().manual_seed(3)
    fit = MapFit(4)
    fit.add(torch.randn(2, 4, 16, 16, generator=g), torch.rand(2, 3, 64, 64, generator=g) * 2 - 1)
    return FittedPreview(fit, max_size=48)


@pytest.mark.parametrize(
    "make, shape",
    [
        (
            lambda: LatentPreview(
                torch.randn(4, 3, generator=torch.Generator().manual_seed(1)) * 0.3, torch.tensor([0.1, -0.2, 0.05])
            ),
            (4, 64, 64),
        ),  # fmt: skip
        (fitted, (4, 100, 70)),  # pooled by 3: 34×24 cells, the last row and column partial
        (lambda: Runner(demo_pipeline()).preview.fallback, (4, 16, 16)),  # the demo's PreviewDecoder
        (lambda: type(Runner(demo_pipeline()).preview.fallback)(small_decoder(), max_size=40), (4, 16, 16)),
    ],
    ids=["latent-map", "fitted-pooled", "demo-net", "small-decoder-pooled"],
)
def test_a_recipe_run_by_a_numpy_reference_gives_the_previews_rgb(make, shape):
    preview = make()
    latents = torch.randn(*shape, generator=torch.Generator().manual_seed(2)) * 1.5
    ops = preview.recipe()
    within, worst = off_by(reference(ops, own, latents.numpy()), preview.rgb(latents).numpy())
    assert within >= 0.995 and worst <= 2, (within, worst)


def test_a_fitted_maps_recipe_is_the_map_it_has_after_a_refit():
    from PIL import Image

    preview = fitted()
    before = preview.recipe()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    preview.learn(torch.randn(1, 4, 16, 16), image)
    latents = torch.randn(4, 16, 16)
    assert not np.allclose(before[1]["bias"], preview.recipe()[1]["bias"]), "the refit moved the map"
    within, _ = off_by(reference(preview.recipe(), own, latents.numpy()), preview.rgb(latents).numpy())
    assert within >= 0.995


def test_a_preview_with_no_recipe_says_none():
    assert Preview().recipe() is None
    assert type(Runner(demo_pipeline()).preview.fallback)(torch.nn.Sequential(torch.nn.Tanh())).recipe() is None


def wire(message, buffers):
    """The page's view of a ``lens_local`` message: A, B and the ops' tensors as float32 arrays."""
    shape = message["shape"]

    def tensors(ref):
        return None if ref is None else np.frombuffer(buffers[ref["buffer"]], "<f4").reshape(ref["shape"])

    a, b = (np.frombuffer(buffers[i], "<f4").reshape(shape).astype(np.float64) for i in (0, 1))
    return a, b, tensors


def check(run, step, message, buffers):
    assert "refused" not in message, message
    assert (message["low"], message["high"], message["flat_below"], message["picture"]) == (1.0, 100.0, True, "quick")
    a, b, tensors = wire(message, buffers)
    for g in (1.0, 2.5, 5.0, 11.3, 20.0):
        exact = run.lens(step, g)
        gap = np.abs(a + g * b - exact.latents[0].double().numpy()).max() / exact.latents.abs().max().item()
        print(f"step {step}, guidance {g}: affine part off by {gap:.2e} of the lens's largest value")
        assert gap <= 1e-5
        picture = reference(message["ops"], tensors, (a + g * b).astype(np.float32))
        assert off_by(picture, exact.quick.numpy())[0] >= 0.995, "the page's recipe gives the quick picture"
    flat = np.abs(a + 1.0 * b - run.lens(step, 0.4).latents[0].double().numpy()).max()
    assert flat <= 1e-5 * run.lens(step, 0.4).latents.abs().max().item(), "below the off value: x0(1.0)"


def test_the_widget_sends_a_verified_affine_part_for_a_held_step_and_a_past_one():
    widget, browser, run = held_widget(demo_pipeline(), at=3, steps=6)
    browser.say({"type": "lens", "run": run.id, "step": 3, "guidance": 7.0, "id": 1, "quick": True, "local": True})
    check(run, 3, *answer(browser, "lens_local", 1))
    browser.say({"type": "resume"})
    run.wait()
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 2.0, "id": 2, "quick": True, "local": True})
    check(run, 1, *answer(browser, "lens_local", 2))
    browser.say({"type": "lens", "run": run.id, "step": 1, "guidance": 2.0, "id": 3, "quick": True})
    answer(browser, "lens", 3)
    assert not [m for m, _ in browser.messages if m["type"] == "lens_local" and m["id"] == 3], "only when asked"


def test_where_the_runs_preview_is_a_map_the_page_draws_the_runs_own_picture():
    runner = Runner(tiny_sd_pipeline())
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1)
    message, buffers = local_part(run, {"id": 1, "run": run.id, "step": 1}, DEMO_KNOB)
    assert message["picture"] == "preview" and [op["op"] for op in message["ops"]] == ["pool", "conv", "bytes"]
    a, b, tensors = wire(message, buffers)
    for g in (1.0, 6.5):
        lens = run.lens(1, g)
        assert not lens.rough, "the quick picture is the run's own"
        assert (
            off_by(reference(message["ops"], tensors, (a + g * b).astype(np.float32)), lens.frame.numpy())[0] >= 0.995
        )


def test_refused_where_the_lens_is_not_affine_or_not_free_or_has_no_recipe():
    runner = Runner(demo_pipeline())
    rescaled = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, guidance_rescale=0.7, seed=1)
    message, buffers = local_part(rescaled, {"id": 1, "run": rescaled.id, "step": 2}, DEMO_KNOB)
    assert message["refused"].startswith("the lens is not affine in the guidance") and buffers == [], message
    one_half = runner.generate("a red star", num_inference_steps=4, guidance_scale=1.0, seed=1)
    message, _ = local_part(one_half, {"id": 2, "run": one_half.id, "step": 2}, DEMO_KNOB)
    assert "one model pass" in message["refused"], message
    plain = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1)
    message, _ = local_part(plain, {"id": 3, "run": plain.id, "step": 2}, {"off_at": None, "high": 100.0})
    assert message["refused"] == "the guidance is a model input, not a combination of two halves"
    assert "refused" not in local_part(plain, {"id": 4, "run": plain.id, "step": 2}, DEMO_KNOB)[0]
    runner.preview.fallback.net = torch.nn.Sequential(torch.nn.Tanh())  # a user's net: no recipe
    message, _ = local_part(plain, {"id": 5, "run": plain.id, "step": 2}, DEMO_KNOB)
    assert message["refused"] == "NetPreview has no recipe the page can run"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_half_precision_run_gets_its_affine_part_fit_in_float32(dtype):
    """Its own lens mixes the halves in half precision, 1e-3 off a line (bf16: 1e-2): the part is fit
    on the halves in float32, and the page's picture is the run's own to its rounding."""
    runner = Runner(tiny_sd_pipeline().to(dtype))
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1)
    message, buffers = local_part(run, {"id": 1, "run": run.id, "step": 1}, DEMO_KNOB)
    assert "refused" not in message, message
    a, b, tensors = wire(message, buffers)
    for g in (1.0, 6.5, 40.0):
        own = run.lens(1, g)
        exact = run.lens_float32(1, g).latents[0].double().numpy()
        assert np.abs(a + g * b - exact).max() <= 1e-5 * np.abs(exact).max()
        rounding = np.abs(a + g * b - own.latents[0].double().numpy()).max() / own.latents.abs().max().item()
        assert 0 < rounding <= (2e-3 if dtype == torch.float16 else 2e-2), rounding
        picture = reference(message["ops"], tensors, (a + g * b).astype(np.float32))
        assert off_by(picture, own.frame.numpy())[0] >= 0.99, "the run's own picture, to its rounding"


def test_refused_where_the_scheduler_clips_its_x0():
    from diffusers import DDIMScheduler

    pipe = demo_pipeline()
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, clip_sample=True, clip_sample_range=1.0)
    run = Runner(pipe).generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1)
    assert run.lens(2, 5.0).latents.abs().max() == 1.0, "clipped: the lens itself is there"
    message, _ = local_part(run, {"id": 1, "run": run.id, "step": 2}, DEMO_KNOB)
    assert message["refused"].startswith("the lens is not affine in the guidance"), message


def test_the_local_flag_from_the_browser_is_checked():
    with pytest.raises(TypeError, match="The page's own lens is asked or not"):
        parse({"type": "lens", "run": 1, "step": 1, "guidance": 2.0, "id": 1, "local": "yes"})


def recipe_bytes(browser, id):
    """The ``lens_local`` answer to request ``id`` and the bytes it carried past A and B (the recipe's)."""
    message, buffers = answer(browser, "lens_local", id)
    return message, sum(len(b) for b in buffers[2:])


def test_the_recipe_goes_once_per_preview_state_not_per_step():
    widget, browser, run = held_widget(demo_pipeline(), at=3, steps=6)
    ask = {"type": "lens", "run": run.id, "guidance": 7.0, "quick": True, "local": True}
    browser.say({**ask, "step": 3, "id": 1})
    first, sent = recipe_bytes(browser, 1)
    assert sent > 100_000 and len(first["ops"]) > 10, "the demo net's recipe, asked with no key"
    browser.say({"type": "step"})  # Next step: held before step 5
    wait_for(lambda: len(run.steps) == 4 and widget.status == "paused")
    browser.say({**ask, "step": 4, "id": 2, "recipe": first["recipe"]})
    second, sent = recipe_bytes(browser, 2)
    assert (second["recipe"], sent, "ops" in second) == (first["recipe"], 0, False), "the page holds it"
    affine, held = answer(browser, "lens_local", 2)[1], answer(browser, "lens_local", 1)[1][2:]
    check(run, 4, {**second, "ops": first["ops"]}, affine + held)  # drawn with the recipe the page holds
    browser.say({**ask, "step": 4, "id": 3})  # a reloaded page holds none
    third, sent = recipe_bytes(browser, 3)
    assert third["ops"] == first["ops"] and sent == recipe_bytes(browser, 1)[1]
    with torch.no_grad():  # weights changed in place, as training does
        widget.runner.preview.fallback.net.conv_in.bias += 0.1
    browser.say({**ask, "step": 4, "id": 4, "recipe": first["recipe"]})
    fourth, sent = recipe_bytes(browser, 4)
    assert fourth["recipe"] != first["recipe"] and sent > 100_000, "a changed net is sent again"
    browser.say({"type": "resume"})
    run.wait()


def test_a_refit_map_sends_its_recipe_again():
    runner = Runner(tiny_sd_pipeline())
    runner.preview = fitted()
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1)
    first, buffers = local_part(run, {"id": 1, "run": run.id, "step": 1}, DEMO_KNOB)
    again, kept = local_part(run, {"id": 2, "run": run.id, "step": 2, "recipe": first["recipe"]}, DEMO_KNOB)
    assert "ops" in first and len(buffers) == 4 and "ops" not in again and len(kept) == 2
    assert again["recipe"] == first["recipe"], "the same map: the same key, computed once"
    runner.preview.learn(run.latents[:1], run.images[0])  # a finished run refines the map
    later, buffers = local_part(run, {"id": 3, "run": run.id, "step": 2, "recipe": first["recipe"]}, DEMO_KNOB)
    assert later["recipe"] != first["recipe"] and "ops" in later and len(buffers) == 4, "the refit map is sent"
