"""A tiny convolutional decoder as the preview, as TAESD is for SD; a model folder may ship one."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .base import Preview, pool, to_uint8

DECODER_FILE = "preview_decoder.safetensors"
"""A model folder holding this file beside ``model_index.json`` previews through it by default."""


def small_decoder(latent_channels: int = 4, upscale: int = 4, width: int = 32) -> nn.Module:
    """Latents → RGB in [-1, 1] at ``upscale`` × their size, about 12k parameters at the defaults."""
    return nn.Sequential(
        nn.Conv2d(latent_channels, width, 3, padding=1), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
        nn.Conv2d(width, 3 * upscale**2, 1), nn.PixelShuffle(upscale),
    )  # fmt: skip


class NetPreview(Preview):
    """A small decoder net for VAEs whose latent space is too far from linear for a per-pixel map
    (the demo VAE: 45/255 mean error for the best linear map at latent size, 7/255 for its
    12k-parameter net at full size)."""

    def __init__(self, net: nn.Module, max_size: int = 128) -> None:
        self.net = net.float().eval().requires_grad_(False)
        self.max_size = max_size

    @classmethod
    def from_file(cls, path: str | Path, max_size: int = 128) -> NetPreview:
        """A ``small_decoder`` with the weights in ``path`` (safetensors)."""
        from safetensors.torch import load_file

        net = small_decoder()
        net.load_state_dict(load_file(str(path)))
        return cls(net, max_size=max_size)

    @torch.no_grad()
    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if next(self.net.parameters()).device != latents.device:
            self.net.to(latents.device)
        return to_uint8(pool(self.net(latents.float()[None])[0].clamp_(-1, 1), self.max_size))
