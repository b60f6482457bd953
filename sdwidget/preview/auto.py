"""The preview a runner uses when none is given: the best one this pipeline's VAE allows."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import torch

from .base import Preview
from .decoded import DecodedPreview
from .fit import FittedPreview, MapFit, calibrate, synthetic_images
from .linear import LatentPreview
from .net import DECODER_FILE, NetPreview
from .published import known_map

# Calibrating costs a few VAE round trips, so each VAE object is fitted once per process and
# every runner on it shares (and refines) the same fit.
_FITS: weakref.WeakKeyDictionary[Any, MapFit] = weakref.WeakKeyDictionary()


def auto_preview(pipe: Any, max_size: int = 128) -> Preview:
    """In order: where the model's folder ships a decoder (``preview_decoder.safetensors``, as the
    demo model does), the VAE's own decode off the step path with that decoder as fallback; the
    published map of SD 1.x/2.x and SDXL's VAEs; else a map fitted to this VAE and refined by
    every finished run."""
    folder = getattr(pipe, "name_or_path", None)
    if folder and (Path(folder) / DECODER_FILE).is_file():
        # A model that ships a preview decoder has a VAE small enough to decode every step off
        # the step path (the demo's: 16 ms on one thread); the decoder draws when it falls behind.
        net = NetPreview.from_file(Path(folder) / DECODER_FILE, max_size=max_size)
        return DecodedPreview(pipe.vae, net, max_size=max_size)
    known = known_map(pipe.vae.config)
    if known is not None:
        return LatentPreview(*known, max_size=max_size)
    if pipe.vae not in _FITS:
        scaled = getattr(pipe.vae.config, "scaling_factor", None) is not None
        _FITS[pipe.vae] = calibrate(pipe.vae) if scaled else calibrate_unscaled(pipe.vae)
    return FittedPreview(_FITS[pipe.vae], max_size=max_size)


@torch.no_grad()
def calibrate_unscaled(vae: Any, count: int = 6, latent_size: int = 32) -> MapFit:
    """``calibrate`` for a VAE with no scaling factor, whose latents a family's view gives as the VAE
    reads them (FLUX.2's: its view undoes the batch-norm statistics and 2×2 patches the loop holds)."""
    param = next(vae.parameters())
    side = latent_size * 2 ** (len(vae.config.block_out_channels) - 1)
    latents = vae.encode(synthetic_images(count, side).to(param.device, param.dtype)).latent_dist.mode()
    images = vae.decode(latents, return_dict=False)[0].float().clamp(-1, 1)
    fit = MapFit(latents.shape[1])
    fit.add(latents, images)
    fit.error = fit.residual(latents, images)
    return fit
