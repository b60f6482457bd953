"""The tiny-autoencoder preview (TAESD family), offline with an ``AutoencoderTiny`` built from a config."""

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny
from PIL import Image

import sdwidget.preview.tiny as tiny_module
from sdwidget import Runner
from sdwidget.preview import LatentPreview, Preview, TinyPreview, as_preview


def tiny_autoencoder(**config) -> AutoencoderTiny:
    torch.manual_seed(0)
    return AutoencoderTiny(
        encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8), num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1), latent_channels=4, **config,
    )  # fmt: skip


def test_as_preview_takes_a_preview_or_a_tiny_autoencoder_and_nothing_else():
    mine = LatentPreview(torch.randn(4, 3), torch.zeros(3))
    assert as_preview(mine) is mine
    wrapped = as_preview(tiny_autoencoder(), max_size=16)
    assert isinstance(wrapped, TinyPreview) and isinstance(wrapped, Preview) and wrapped.max_size == 16
    for wrong in (None, "madebyollin/taesd", torch.nn.Conv2d(4, 3, 1)):
        with pytest.raises(TypeError, match="AutoencoderTiny"):
            as_preview(wrong)


def test_frames_are_the_tiny_decode_of_the_latents_as_a_pipeline_decodes_them():
    vae = tiny_autoencoder(scaling_factor=1.5, shift_factor=0.1)
    preview = TinyPreview(vae, max_size=16, share=1.0)
    latents = torch.randn(1, 4, 16, 16)
    frame = preview.frame(latents).numpy()
    with torch.no_grad():
        image = vae.decode(latents / 1.5 + 0.1).sample[0]  # (3, 32, 32) in [-1, 1]
    expected = torch.nn.functional.avg_pool2d(image.clamp(-1, 1)[None], 2)[0]
    expected = ((expected.permute(1, 2, 0) + 1) * 127.5).round().numpy()
    assert frame.shape == (16, 16, 3) and np.abs(frame - expected).max() <= 1
    with pytest.raises(ValueError, match="packed"):
        preview.rgb(torch.randn(16, 64))


class Clock:
    """Stands in for ``time.perf_counter`` in the tiny module: a step or a decode moves it on."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def timed_autoencoder(monkeypatch, seconds: float) -> tuple[Clock, object]:
    """A tiny autoencoder whose every decode moves the tiny module's clock on by ``seconds``."""
    clock = Clock()
    monkeypatch.setattr(tiny_module.time, "perf_counter", clock)
    vae = tiny_autoencoder()
    decode = vae.decode

    def timed_decode(*args, **kwargs):
        clock.now += seconds
        return decode(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", timed_decode)
    return clock, vae


def test_a_decode_slower_than_a_step_runs_every_kth_step_and_always_on_the_last(monkeypatch):
    clock, vae = timed_autoencoder(monkeypatch, 0.030)  # a decode takes 30 ms
    preview = TinyPreview(vae, max_size=8)  # share 0.25: a decode every 120 ms at most
    frames = []
    for step in range(40):
        frames.append(preview.frame(torch.randn(1, 4, 8, 8), last=step == 39))
        clock.now += 0.010  # a step takes 10 ms
    decoded = [i for i in range(40) if i == 0 or frames[i] is not frames[i - 1]]
    # Each decode starts at least 120 ms after the previous began: a 30 ms decode, then 9 steps of 10 ms.
    assert decoded[:4] == [0, 9, 18, 27] and decoded[-1] == 39, decoded
    assert preview.decoded == len(decoded) == 6 and preview.cost == pytest.approx(0.030)
    busy = preview.decoded * 0.030 / (40 * 0.010 + preview.decoded * 0.030)
    assert busy <= 0.32, "decoding takes about a quarter of the run, not more"
    # A skipped step shows the last decoded frame itself.
    assert all(frames[i] is frames[decoded[0]] for i in range(1, 9))
    # After a pause (a gap of many steps) the next step is decoded at once.
    clock.now += 5.0
    assert preview.frame(torch.randn(1, 4, 8, 8)) is not frames[-1]


def test_a_decode_faster_than_a_step_runs_every_step(monkeypatch):
    clock, vae = timed_autoencoder(monkeypatch, 0.002)
    preview = TinyPreview(vae, max_size=8)
    for _ in range(10):
        preview.frame(torch.randn(1, 4, 8, 8))
        clock.now += 0.050
    assert preview.decoded == 10


def test_runner_takes_an_autoencoder_tiny_and_measures_its_error(sd_pipe):
    runner = Runner(sd_pipe, preview=tiny_autoencoder(), thumbnail_size=32)
    preview = runner.preview
    assert isinstance(preview, TinyPreview) and preview.max_size == 32
    run = runner.generate("a red star", num_inference_steps=4, seed=0, height=64, width=64)
    assert run.status.value == "finished" and len(run.frames) == 4
    assert run.frames[-1].size == (32, 32)  # 16×16 latents, ×2 by this tiny decoder
    assert preview.decoded >= 1 and preview.cost is not None
    assert preview.error is not None, "a finished run measures the preview against the VAE's image"
    assert preview.error == pytest.approx(preview.measure(run.latents, run.image))


def test_a_run_always_ends_on_a_decoded_frame(sd_pipe):
    preview = TinyPreview(tiny_autoencoder(), max_size=32, share=1e-9)  # any decode is too slow to repeat
    run = Runner(sd_pipe, preview=preview).generate("a red star", num_inference_steps=5, seed=0, height=64, width=64)
    assert all(frame is run.frames[0] for frame in run.frames[1:4]), "the middle steps show the first frame"
    assert run.frames[4] is not run.frames[0] and preview.decoded == 2
    shown = Runner(sd_pipe, preview=preview).generate(
        "a red star", num_inference_steps=5, seed=1, height=64, width=64, stop_after=3
    )
    assert shown.frames[2] is not shown.frames[1], "a run stopped early ends on its last step, decoded"


def test_measure_compares_with_the_image_shrunk_to_the_frame():
    class Grey(Preview):
        max_size = 4

        def rgb(self, latents):
            return torch.full((4, 4, 3), 100, dtype=torch.uint8)

    image = Image.fromarray(np.full((16, 16, 3), 110, dtype=np.uint8))
    preview = Grey()
    assert preview.error is None
    preview.learn(torch.zeros(1, 4, 2, 2), image)
    preview.learn(torch.zeros(1, 4, 2, 2), Image.fromarray(np.full((16, 16, 3), 130, dtype=np.uint8)))
    assert preview.error == pytest.approx(20.0)  # mean of 10 and 30
