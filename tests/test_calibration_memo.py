"""The tests' calibration memo (tests/calibration_memo.py) gives what a fresh calibration gives,
and one VAE's refined fit never reaches another VAE built with the same weights."""

import torch
from calibration_memo import fingerprint

from sdwidget import Runner
from sdwidget.preview import auto, auto_preview
from sdwidget.testing import tiny_sd_pipeline


def test_a_memoized_fit_equals_a_fresh_calibration_and_is_not_shared():
    first, second = tiny_sd_pipeline(seed=5), tiny_sd_pipeline(seed=5)
    assert fingerprint(first.vae) == fingerprint(second.vae) != fingerprint(tiny_sd_pipeline(seed=6).vae)
    fresh = auto.calibrate.uncached(second.vae)
    preview = auto_preview(first)
    before = preview.fit.xtx.clone()
    Runner(first).generate("a red star", num_inference_steps=2, seed=0)
    assert not torch.equal(preview.fit.xtx, before), "the run refined first's fit"
    copied = auto_preview(second).fit
    assert copied is not preview.fit
    assert torch.equal(copied.xtx, fresh.xtx) and torch.equal(copied.xty, fresh.xty) and copied.error == fresh.error
