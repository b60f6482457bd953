"""A linear latent→RGB map per latent pixel (the published ones are in ``published.py``)."""

from __future__ import annotations

import torch

from .base import Preview, on_one_thread, pool


class LatentPreview(Preview):
    """A linear map plus bias per latent pixel: free, and close enough for SD's own VAEs.

    Developer notes: this is the default preview, so its ``rgb`` is on every step's path. It is
    one ``addmm`` whose weight and bias already hold ``to_uint8``'s scaling (×127.5, +128: the
    [-1, 1] shift and the +0.5 of rounding), then a clamp and the cast: 3 kernels where the
    einsum, bias and ``to_uint8`` took 8, and the ``(h·w, C) @ (C, 3)`` product lands in the
    ``(H, W, 3)`` layout the frame wants, with no permuted copy. On the CPU it runs on one
    thread (``on_one_thread``: MKL would split the product across busy cores). On this loaded
    2-core CPU, SD's 32² latents: 85 µs median (p90 152 µs) against 218 µs (p90 23.6 ms) for the
    einsum on two threads. Folding the scale into the weight rounds differently in the last
    float bit: 3 pixels in 614,400 differ, by 1/255.
    """

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
        """The map scaled to 0–255 units on ``device``, made once per map and device (a refit
        makes a new map)."""
        current = self._map  # read once: a refit swaps weight and bias together
        cached = self._on_device.get(device)
        if cached is None or cached[0] is not current:
            weight, bias = current[0] * 127.5, current[1] * 127.5 + 128.0
            cached = self._on_device[device] = (current, weight.to(device), bias.to(device))
        return cached[1], cached[2]

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if latents.device.type == "cpu":
            return on_one_thread(self._rgb, latents)
        return self._rgb(latents)

    def _rgb(self, latents: torch.Tensor) -> torch.Tensor:
        weight, bias = self._params(latents.device)
        # Pooled before the map, which is linear: the step callback maps the fewest pixels.
        x = pool(latents.float(), self.max_size)
        channels, height, width = x.shape
        pixels = torch.addmm(bias, x.reshape(channels, height * width).t(), weight)
        return pixels.clamp_(0, 255).to(torch.uint8).view(height, width, 3)
