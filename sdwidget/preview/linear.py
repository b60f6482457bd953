"""A linear latent→RGB map per latent pixel (the published ones are in ``published.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import Preview, pool


class LatentPreview(Preview):
    """A linear map plus bias per latent pixel: free, and close enough for SD's own VAEs.

    Developer notes: this is the default preview, so its ``rgb`` is on every step's path. It is
    one matrix product whose weight and bias already hold ``to_uint8``'s scaling (×127.5, +128:
    the [-1, 1] shift and the +0.5 of rounding), then a clamp and the cast, and the
    ``(h·w, C) @ (C, 3)`` product lands in the ``(H, W, 3)`` layout the frame wants, with no
    permuted copy. On the CPU it is numpy's product on the calling thread (a frame of at most
    ``max_size``² pixels is below OpenBLAS's threading threshold): torch's ``addmm`` goes to MKL,
    which splits it across torch's OpenMP team and waits for busy cores, and switching torch to one
    thread for it cost ~60 µs a step (the switch resizes torch's thread pools). The step
    callback of a 256² SD-layout run on this 2-core CPU, same process alternated (loaded, 6–8):
    median 444 µs with the one-thread ``addmm`` → 372 µs. Most of what is left is the first work
    after the model's call finding cold caches: the same product costs ~50 µs when repeated. Folding the scale
    into the weight rounds differently in the last float bit: 3 pixels in 614,400 differ, by 1/255.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, max_size: int = 128) -> None:
        if weight.ndim != 2 or weight.shape[1] != 3 or bias.shape != (3,):
            raise ValueError(f"need a C×3 weight and a 3-vector bias, got {tuple(weight.shape)}")
        self.max_size = max_size
        self._map = (weight.float(), bias.float())
        self._on_device: dict[torch.device, tuple] = {}
        self._on_host: tuple | None = None

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

    def recipe(self) -> list[dict[str, Any]]:
        """``_rgb_host``'s: pooled, the map in 0–255 units as a 1×1 convolution, clamped and cast;
        the map read now (a refit makes a new one). The same list while map and size are the same,
        so its key (``widget/lens_local.py``: by the tensors' state) is hashed once per map."""
        current = (self._map, self.max_size)
        memo: tuple[tuple[Any, int], list[dict[str, Any]]] | None = getattr(self, "_recipe", None)
        if memo is None or memo[0][0] is not current[0] or memo[0][1] != current[1]:
            weight, bias = self._params(torch.device("cpu"))
            conv = {"op": "conv", "weight": weight.T[:, :, None, None].contiguous(), "bias": bias}
            ops: list[dict[str, Any]] = [{"op": "pool", "max_size": self.max_size}, conv, {"op": "bytes"}]
            memo = self._recipe = (current, ops)
        return memo[1]

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if latents.device.type == "cpu":
            return self._rgb_host(latents)
        return self._rgb(latents)

    def _rgb_host(self, latents: torch.Tensor) -> torch.Tensor:
        """``_rgb`` in numpy on the calling thread alone (see the class's notes)."""
        weight, bias = self._host_params()
        x = pool(latents.float(), self.max_size) if max(latents.shape[-2:]) > self.max_size else latents.float()
        channels, height, width = x.shape
        pixels = x.detach().numpy().reshape(channels, height * width).T @ weight
        pixels += bias
        with np.errstate(invalid="ignore"):  # NaN latents (a diverged run) show as torch would cast them
            rgb = np.clip(pixels, 0, 255, out=pixels).astype(np.uint8)
        return torch.from_numpy(rgb.reshape(height, width, 3))

    def _host_params(self) -> tuple[np.ndarray, np.ndarray]:
        """``_params`` as numpy arrays, made once per map."""
        current = self._map
        cached = self._on_host
        if cached is None or cached[0] is not current:
            weight, bias = self._params(torch.device("cpu"))
            cached = self._on_host = (current, weight.numpy(), bias.numpy())
        return cached[1], cached[2]

    def _rgb(self, latents: torch.Tensor) -> torch.Tensor:
        weight, bias = self._params(latents.device)
        # Pooled before the map, which is linear: the step callback maps the fewest pixels.
        x = pool(latents.float(), self.max_size)
        channels, height, width = x.shape
        pixels = torch.addmm(bias, x.reshape(channels, height * width).t(), weight)
        return pixels.clamp_(0, 255).to(torch.uint8).view(height, width, 3)
