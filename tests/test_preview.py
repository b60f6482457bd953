"""Thumbnails: published maps, fitted maps, x0 versus noisy latents, the x0 estimate itself."""

import threading
from types import SimpleNamespace

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler

from sdwidget import LatentPreview, NetPreview, Runner
from sdwidget.core.x0 import estimate_x0
from sdwidget.preview import (
    DECODER_FILE,
    DecodedPreview,
    FittedPreview,
    MapFit,
    auto_preview,
    decode,
    encode,
    synthetic_images,
)
from sdwidget.preview.published import SD1_FACTORS, SDXL_BIAS, known_map
from sdwidget.testing import make_scheduler, tiny_sd_pipeline


def mse(preview, latents, images):
    rgb = preview.rgb(latents[0]).permute(2, 0, 1).float() / 127.5 - 1
    target = torch.nn.functional.adaptive_avg_pool2d(images[0], rgb.shape[-2:])
    return float(((rgb - target) ** 2).mean())


def test_fitted_map_beats_a_fixed_guess_on_a_held_out_latent(sd_pipe):
    preview = auto_preview(sd_pipe)
    assert isinstance(preview, FittedPreview), "a random tiny VAE has no published map"
    held_out = encode(sd_pipe.vae, synthetic_images(1, 64, seed=123))
    images = decode(sd_pipe.vae, held_out)
    fixed = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3))
    assert mse(preview, held_out, images) < 0.75 * mse(fixed, held_out, images)


def test_fit_recovers_a_known_linear_map():
    weight, bias = torch.randn(4, 3) * 0.3, torch.tensor([0.1, -0.2, 0.05])
    latents = torch.randn(3, 4, 8, 8)
    images = torch.einsum("nchw,cr->nrhw", latents, weight) + bias[:, None, None]
    fit = MapFit(4)
    fit.add(latents, images)
    got_weight, got_bias = fit.solve()
    assert torch.allclose(got_weight, weight, atol=1e-4) and torch.allclose(got_bias, bias, atol=1e-4)


def test_published_maps_are_chosen_by_vae_architecture(sd_pipe):
    sd_vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), latent_channels=4, norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    ).config  # fmt: skip
    weight, bias = known_map(sd_vae)
    assert torch.equal(weight, torch.tensor(SD1_FACTORS)) and torch.equal(bias, torch.zeros(3))
    xl_weight, xl_bias = known_map(type(sd_vae)(**{**sd_vae, "scaling_factor": 0.13025}))
    assert torch.equal(xl_bias, torch.tensor(SDXL_BIAS))
    assert known_map(sd_pipe.vae.config) is None


def test_calibration_is_cached_per_vae_and_refined_by_runs(sd_pipe):
    first, again = auto_preview(sd_pipe), auto_preview(sd_pipe)
    assert again.fit is first.fit
    before, weight = first.fit.xtx.clone(), first.weight
    runner = Runner(sd_pipe)
    runner.generate("a red star", num_inference_steps=3, seed=0, height=64, width=64)
    assert not torch.equal(first.fit.xtx, before), "a finished run's decode refines the fit"
    assert not torch.equal(runner.preview.weight, weight)


def test_a_given_preview_is_used_and_a_model_folder_decoder_is_found(sd_pipe, tmp_path):
    mine = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3), max_size=8)
    run = Runner(sd_pipe, preview=mine).generate("a red star", num_inference_steps=2, seed=0, height=64, width=64)
    assert Runner(sd_pipe, preview=mine).preview is mine and run.frames[0].size == (8, 8)
    from safetensors.torch import save_file

    from sdwidget.preview import small_decoder

    save_file(small_decoder().state_dict(), str(tmp_path / DECODER_FILE))
    loaded_from_folder = SimpleNamespace(name_or_path=str(tmp_path), vae=sd_pipe.vae)
    found = auto_preview(loaded_from_folder)
    assert isinstance(found, DecodedPreview) and found.vae is sd_pipe.vae and isinstance(found.fallback, NetPreview)


def test_thumbnail_is_bounded_and_x0_differs_from_noisy_latents(sd_pipe):
    small = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3), max_size=16)
    assert small.rgb(torch.randn(4, 100, 60)).shape == (15, 9, 3)  # stride ceil(100 / 16) = 7
    assert small.rgb(torch.randn(4, 16, 12)).shape == (16, 12, 3)
    x0 = Runner(sd_pipe, show="x0").generate("a red star", num_inference_steps=6, seed=1, height=64, width=64)
    xt = Runner(sd_pipe, show="latents").generate("a red star", num_inference_steps=6, seed=1, height=64, width=64)
    assert torch.equal(x0.latents, xt.latents)
    first_x0, first_xt = x0.steps[0].frame.numpy(), xt.steps[0].frame.numpy()
    assert (first_x0 != first_xt).any()


def test_x0_estimate_matches_ddim_pred_original_sample():
    scheduler = DDIMScheduler.from_config(make_scheduler("ddim").config, clip_sample=False)
    scheduler.set_timesteps(10)
    t = scheduler.timesteps[3]
    sample, eps = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    expected = scheduler.step(eps, t, sample).pred_original_sample
    assert torch.allclose(estimate_x0(scheduler, eps, t, sample, None), expected, atol=1e-5)


def test_dpm_scheduler_gets_x0_previews():
    pipe = tiny_sd_pipeline(scheduler="dpm")
    run = Runner(pipe).generate("a red star", num_inference_steps=5, seed=2, height=64, width=64)
    assert run.status.value == "finished" and len(run.frames) == 5
    assert "step" not in vars(pipe.scheduler)


def test_fitted_maps_say_how_rough_they_are_and_runs_measure_them(sd_pipe):
    preview = auto_preview(sd_pipe)
    assert isinstance(preview, FittedPreview)
    assert preview.error is not None and 0 < preview.error < 255, "known from the calibration fit"
    before = LatentPreview(preview.weight, preview.bias)
    run = Runner(sd_pipe, preview=preview).generate("a red star", num_inference_steps=3, seed=4, height=64, width=64)
    # Measured before the run refined the map: a held-out figure, as the widget may show it.
    assert preview.error == before.measure(run.latents, run.image)
    published = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3))
    assert published.error is None, "nothing measured yet"
    published.learn(run.latents, run.image)
    assert published.error == published.measure(run.latents, run.image)


def test_a_batch_is_shown_as_a_grid_as_small_as_one_image():
    preview = LatentPreview(torch.randn(4, 3), torch.tensor([0.1, 0.0, -0.1]), max_size=16)
    latents = torch.randn(3, 4, 8, 8)
    shown = preview.frame(latents).numpy()
    tiles = [preview.rgb(x).numpy() for x in latents]
    assert shown.shape == (16, 16, 3)  # 2 columns, 2 rows, the fourth cell empty
    assert (shown[:8, :8] == tiles[0]).all() and (shown[:8, 8:] == tiles[1]).all()
    assert (shown[8:, :8] == tiles[2]).all() and (shown[8:, 8:] == 0).all()
    assert (preview.frame(latents[:1]).numpy() == tiles[0]).all(), "one image is shown alone"
    four = torch.randn(4, 4, 16, 16)  # four 16-px images: a 32-px grid shrunk by area to 16 px
    shown = preview.frame(four).numpy().astype(float)
    first = preview.rgb(four[0]).numpy().astype(float)
    assert shown.shape == (16, 16, 3)
    expected = first.reshape(8, 2, 8, 2, 3).mean(axis=(1, 3))
    assert abs(shown[:8, :8] - expected).max() <= 0.5


class Recording(LatentPreview):
    """Notes which steps it was told were the run's last."""

    def __init__(self) -> None:
        super().__init__(torch.randn(4, 3), torch.zeros(3), max_size=16)
        self.lasts: list[bool] = []

    def frame(self, latents, *, last=False):
        self.lasts.append(last)
        return super().frame(latents, last=last)


def test_the_step_hook_tells_the_preview_which_step_is_the_last(sd_pipe):
    preview = Recording()
    runner = Runner(sd_pipe, preview=preview)
    runner.generate("a red star", num_inference_steps=4, seed=0, height=64, width=64)
    assert preview.lasts == [False, False, False, True]
    preview.lasts.clear()
    runner.generate("a red star", num_inference_steps=4, seed=0, height=64, width=64, stop_after=2)
    assert preview.lasts == [False, True], "a run stopped early ends on its last step's frame"


def test_a_decoded_preview_never_waits_for_its_worker_and_falls_back_when_two_decodes_wait(sd_pipe):
    """The step only queues; with two decodes waiting the fallback draws the frame (counted)."""
    gate, vae = threading.Event(), sd_pipe.vae
    decode = vae.decode

    def held_decode(*args, **kwargs):
        gate.wait(30)
        return decode(*args, **kwargs)

    fallback = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3), max_size=8)
    held = SimpleNamespace(decode=held_decode, dtype=vae.dtype, config=vae.config)
    preview = DecodedPreview(held, fallback, max_size=8)
    latents = [torch.randn(1, 4, 8, 8) for _ in range(4)]
    frames = [preview.frame(x) for x in latents[:3]]  # returns at once: the worker is held
    assert preview.fallback_frames == 1 and torch.equal(frames[2].pixels, fallback.frame(latents[2]).pixels)
    last = preview.frame(latents[3], last=True)  # the last step is decoded, however far behind
    assert preview.fallback_frames == 1
    gate.set()
    for frame, x in zip([frames[0], frames[1], last], [latents[0], latents[1], latents[3]], strict=True):
        assert np.array_equal(frame.numpy(), preview.rgb(x[0]).numpy())  # reading waits for the decode
