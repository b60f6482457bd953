"""Fitting the latent→RGB preview map of a VAE that has no published one.

The map is a least-squares fit of latents against their VAE decodes (shrunk to latent size),
kept as normal equations so each finished run's own decode refines it at the cost of a 5×5
solve (``FittedPreview.learn``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .linear import LatentPreview
from .scale import from_vae, to_vae


class MapFit:
    """Accumulated ``XᵀX`` and ``XᵀY`` for RGB ≈ latents·W + b."""

    def __init__(self, channels: int) -> None:
        self.xtx = torch.zeros(channels + 1, channels + 1, dtype=torch.float64)
        self.xty = torch.zeros(channels + 1, 3, dtype=torch.float64)
        self.error: float | None = None
        """The fitted map's mean absolute error (0–255 units) on the examples it was calibrated on."""

    @staticmethod
    def _rows(latents: torch.Tensor, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = F.adaptive_avg_pool2d(images.double().cpu(), (latents.shape[-2], latents.shape[-1]))
        x = latents.double().cpu().permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
        return x, images.permute(0, 2, 3, 1).reshape(-1, 3)

    def add(self, latents: torch.Tensor, images: torch.Tensor) -> None:
        """``latents`` (N, C, h, w) as the sampling loop holds them; ``images`` (N, 3, H, W) in [-1, 1]."""
        x, y = self._rows(latents, images)
        self.xtx += x.T @ x
        self.xty += x.T @ y

    def residual(self, latents: torch.Tensor, images: torch.Tensor) -> float:
        """The current map's mean absolute error (0–255 units) on these examples, at latent size."""
        x, y = self._rows(latents, images)
        weight, bias = self.solve()
        solution = torch.cat([weight, bias[None]]).double()
        return float(((x @ solution).clamp(-1, 1) - y).abs().mean() * 127.5)

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
def encode(vae: Any, images: torch.Tensor) -> torch.Tensor:
    """Images → latents scaled as the sampling loop holds them."""
    param = next(vae.parameters())
    dist = vae.encode(images.to(param.device, param.dtype)).latent_dist
    return from_vae(vae, dist.mode())


@torch.no_grad()
def decode(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    param = next(vae.parameters())
    latents = to_vae(vae, latents.to(param.device, param.dtype))
    return vae.decode(latents, return_dict=False)[0].float().clamp(-1, 1)


def calibrate(vae: Any, count: int = 6, latent_size: int = 32) -> MapFit:
    """Fit a map from ``count`` synthetic images round-tripped through ``vae``."""
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    latents = encode(vae, synthetic_images(count, latent_size * factor))
    fit, images = MapFit(latents.shape[1]), decode(vae, latents)
    fit.add(latents, images)
    fit.error = fit.residual(latents, images)
    return fit


class FittedPreview(LatentPreview):
    """A fitted map that each finished run's own decode refines (published maps stay as they are)."""

    def __init__(self, fit: MapFit, max_size: int = 128) -> None:
        super().__init__(*fit.solve(), max_size=max_size)
        self.fit = fit
        self.error = fit.error

    def learn(self, latents: torch.Tensor, image: Any) -> None:
        """Measure the map on the run (before it has seen it: a held-out figure), then refine it."""
        self.measure_quietly(latents, image)
        pixels = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None]
        self.fit.add(latents[:1], pixels.float() / 127.5 - 1)
        weight, bias = self.fit.solve()
        self._map = (weight.float(), bias.float())  # one assignment: a running run reads it any time
