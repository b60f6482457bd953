"""Fitting the latent→RGB preview map of a VAE that has no published one.

The map is a least-squares fit of latents against their VAE decodes (shrunk to latent size),
kept as normal equations so each finished run's own decode refines it at the cost of a 5×5
solve. Fits are cached per VAE object for the life of the process.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
import torch.nn.functional as F

from ._preview import LatentPreview, NetPreview, Preview, known_map

_FITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class MapFit:
    """Accumulated ``XᵀX`` and ``XᵀY`` for RGB ≈ latents·W + b."""

    def __init__(self, channels: int) -> None:
        self.xtx = torch.zeros(channels + 1, channels + 1, dtype=torch.float64)
        self.xty = torch.zeros(channels + 1, 3, dtype=torch.float64)

    def add(self, latents: torch.Tensor, images: torch.Tensor) -> None:
        """``latents`` (N, C, h, w) as the sampling loop holds them; ``images`` (N, 3, H, W) in [-1, 1]."""
        images = F.adaptive_avg_pool2d(images.double().cpu(), latents.shape[-2:])
        x = latents.double().cpu().permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
        y = images.permute(0, 2, 3, 1).reshape(-1, 3)
        self.xtx += x.T @ x
        self.xty += x.T @ y

    def solve(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight C×3, bias 3); a small ridge keeps dead latent channels from blowing up."""
        ridge = 1e-6 * self.xtx.diagonal().mean() * torch.eye(len(self.xtx), dtype=self.xtx.dtype)
        solution = torch.linalg.solve(self.xtx + ridge, self.xty).float()
        return solution[:-1], solution[-1]


def synthetic_images(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """Gradients with coloured boxes, (count, 3, size, size) in [-1, 1]: varied but deterministic."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)
    out = []
    for _ in range(count):
        a, b = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
        t = ramp[None, :, None] if torch.rand(1, generator=g) < 0.5 else ramp[None, None, :]
        image = (a + (b - a) * t).expand(3, size, size).clone()
        for _ in range(3):
            y0, x0 = torch.randint(0, size * 3 // 4, (2,), generator=g).tolist()
            h, w = torch.randint(size // 8, size // 2, (2,), generator=g).tolist()
            image[:, y0 : y0 + h, x0 : x0 + w] = torch.rand(3, 1, 1, generator=g)
        out.append(image)
    return torch.stack(out) * 2 - 1


@torch.no_grad()
def encode(vae, images: torch.Tensor) -> torch.Tensor:
    """Images → latents scaled as the sampling loop holds them."""
    param = next(vae.parameters())
    dist = vae.encode(images.to(param.device, param.dtype)).latent_dist
    return dist.mode() * vae.config.scaling_factor


@torch.no_grad()
def decode(vae, latents: torch.Tensor) -> torch.Tensor:
    param = next(vae.parameters())
    latents = latents.to(param.device, param.dtype) / vae.config.scaling_factor
    return vae.decode(latents, return_dict=False)[0].float().clamp(-1, 1)


def calibrate(vae, count: int = 6, latent_size: int = 32) -> MapFit:
    """Fit a map from ``count`` synthetic images round-tripped through ``vae``."""
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    latents = encode(vae, synthetic_images(count, latent_size * factor))
    fit = MapFit(latents.shape[1])
    fit.add(latents, decode(vae, latents))
    return fit


def register_net(vae, net: torch.nn.Module) -> None:
    """Preview ``vae``'s latents with a small decoder shipped with its model, not a fitted map."""
    _NETS[vae] = net


def preview_for(vae, max_size: int = 128) -> tuple[Preview, MapFit | None]:
    """A shipped decoder or the published map where the VAE has one, else a cached fit (returned
    so runs refine it)."""
    if vae in _NETS:
        return NetPreview(_NETS[vae], max_size=max_size), None
    known = known_map(vae.config)
    if known is not None:
        return LatentPreview(*known, max_size=max_size), None
    if vae not in _FITS:
        _FITS[vae] = calibrate(vae)
    fit = _FITS[vae]
    return LatentPreview(*fit.solve(), max_size=max_size), fit


def refined(fit: MapFit, latents: torch.Tensor, image, max_size: int) -> LatentPreview:
    """Add a finished run's own decode (``image``, PIL) to ``fit`` and return the re-solved map."""
    pixels = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None]
    fit.add(latents[:1], pixels.float() / 127.5 - 1)
    return LatentPreview(*fit.solve(), max_size=max_size)
