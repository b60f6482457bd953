"""Cheap latent→RGB thumbnails: a linear map plus bias on the latents' device, no VAE."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._events import Frame

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


def known_map(vae_config) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The published map for SD 1.x/2.x and SDXL's VAEs, recognised by their architecture."""
    is_sd_vae = getattr(vae_config, "latent_channels", None) == 4 and tuple(
        getattr(vae_config, "block_out_channels", ())
    ) == (128, 256, 512, 512)
    if not is_sd_vae:
        return None
    factors = {0.18215: (SD1_FACTORS, SD1_BIAS), 0.13025: (SDXL_FACTORS, SDXL_BIAS)}
    found = factors.get(round(float(vae_config.scaling_factor), 5))
    return None if found is None else (torch.tensor(found[0]), torch.tensor(found[1]))


class LatentPreview:
    """Projects the first latent of a batch to a small RGB frame.

    Only the thumbnail leaves the device: on CUDA through a pinned buffer with a non-blocking
    copy and an event, so the step callback never waits for the GPU.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, max_size: int = 128) -> None:
        if weight.ndim != 2 or weight.shape[1] != 3 or bias.shape != (3,):
            raise ValueError(f"need a C×3 weight and a 3-vector bias, got {tuple(weight.shape)}")
        self.weight = weight.float()
        self.bias = bias.float()
        self.max_size = max_size
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def _params(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._on_device:
            self._on_device[device] = (self.weight.to(device), self.bias.to(device))
        return self._on_device[device]

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        """``(C, h, w)`` latents → ``(h', w', 3)`` uint8 on the same device, h', w' ≤ max_size."""
        weight, bias = self._params(latents.device)
        x = latents.float()
        stride = math.ceil(max(x.shape[-2:]) / self.max_size)
        if stride > 1:
            x = F.avg_pool2d(x[None], stride, ceil_mode=True)[0]
        rgb = torch.einsum("chw,cr->hwr", x, weight) + bias
        return ((rgb + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)

    def frame(self, latents: torch.Tensor) -> Frame:
        rgb = self.rgb(latents[0])
        if rgb.device.type != "cuda":
            return Frame(rgb)
        host = torch.empty(rgb.shape, dtype=torch.uint8, pin_memory=True)
        host.copy_(rgb, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return Frame(host, ready)
