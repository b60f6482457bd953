"""A linear latent→RGB map per latent pixel, and the published maps of SD 1.x/2.x and SDXL's VAEs."""

from __future__ import annotations

from typing import Any

import torch

from .base import Preview, pool, to_uint8

# Per latent channel, its contribution to (R, G, B) in [-1, 1], for latents as the sampling loop
# holds them (already multiplied by the VAE's scaling factor). Measured by ComfyUI.
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD1_BIAS = (0.0, 0.0, 0.0)
SDXL_FACTORS = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_BIAS = (0.1084, -0.0175, -0.0011)


def known_map(vae_config: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The published map for SD 1.x/2.x and SDXL's VAEs, recognised by their architecture."""
    is_sd_vae = getattr(vae_config, "latent_channels", None) == 4 and tuple(
        getattr(vae_config, "block_out_channels", ())
    ) == (128, 256, 512, 512)
    if not is_sd_vae:
        return None
    factors = {0.18215: (SD1_FACTORS, SD1_BIAS), 0.13025: (SDXL_FACTORS, SDXL_BIAS)}
    found = factors.get(round(float(vae_config.scaling_factor), 5))
    return None if found is None else (torch.tensor(found[0]), torch.tensor(found[1]))


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
