"""Thumbnails: published maps, fitted maps, x0 versus noisy latents, the x0 estimate itself."""

import torch
from diffusers import AutoencoderKL, DDIMScheduler

from sdwidget import LatentPreview, Runner
from sdwidget._calibrate import MapFit, decode, encode, preview_for, synthetic_images
from sdwidget._preview import SD1_FACTORS, SDXL_BIAS, known_map
from sdwidget._tiny import make_scheduler, tiny_sd_pipeline
from sdwidget._x0 import estimate_x0


def mse(preview, latents, images):
    rgb = preview.rgb(latents[0]).permute(2, 0, 1).float() / 127.5 - 1
    target = torch.nn.functional.adaptive_avg_pool2d(images[0], rgb.shape[-2:])
    return float(((rgb - target) ** 2).mean())


def test_fitted_map_beats_a_fixed_guess_on_a_held_out_latent(sd_pipe):
    preview, fit = preview_for(sd_pipe.vae)
    assert fit is not None, "a random tiny VAE has no published map"
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
    first, fit = preview_for(sd_pipe.vae)
    again, same_fit = preview_for(sd_pipe.vae)
    assert same_fit is fit
    before = fit.xtx.clone()
    runner = Runner(sd_pipe)
    runner.generate("a red star", num_inference_steps=3, seed=0, height=64, width=64)
    assert not torch.equal(fit.xtx, before), "a finished run's decode refines the fit"
    assert not torch.equal(runner._preview.weight, first.weight)


def test_thumbnail_is_bounded_and_x0_differs_from_noisy_latents(sd_pipe):
    small = LatentPreview(torch.tensor(SD1_FACTORS), torch.zeros(3), max_size=16)
    assert small.rgb(torch.randn(4, 100, 60)).shape == (15, 9, 3)  # stride ceil(100 / 16) = 7
    assert small.rgb(torch.randn(4, 16, 12)).shape == (16, 12, 3)
    x0 = Runner(sd_pipe, preview="x0").generate("a red star", num_inference_steps=6, seed=1, height=64, width=64)
    xt = Runner(sd_pipe, preview="latents").generate("a red star", num_inference_steps=6, seed=1, height=64, width=64)
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
