"""A linear latent→RGB map per latent pixel (the published ones are in ``published.py``)."""

from __future__ import annotations

import torch

from .base import Preview, pool, to_uint8


class LatentPreview(Preview):
    """A linear map plus bias per latent pixel: free, and close enough for SD's own VAEs."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, max_size: int = 128) -> None:
        if weight.ndim != 2 or weight.shape[1] != 3 or bias.shape != (3,):
            raise ValueError(f"need a C×3 weight and a 3-vector bias, got {tuple(weight.shape)}")
        self.max_size = max_size
        self._map = (weight.float(), bias.float())
        self._on_device: dict[torch.device, tuple] = {}

    @property
    def weight(self) -> torch.Tensor:
        return self._map[0]

    @property
    def bias(self) -> torch.Tensor:
        return self._map[1]

    def _params(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        current = self._map  # read once: a refit swaps weight and bias together
        cached = self._on_device.get(device)
        if cached is None or cached[0] is not current:
            cached = self._on_device[device] = (current, current[0].to(device), current[1].to(device))
        return cached[1], cached[2]

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        weight, bias = self._params(latents.device)
        # Pooled before the map, which is linear: the step callback maps the fewest pixels.
        x = pool(latents.float(), self.max_size)
        return to_uint8(torch.einsum("chw,cr->rhw", x, weight) + bias[:, None, None])
