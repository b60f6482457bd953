"""Cheap latent→RGB thumbnails on the latents' device, no VAE: a linear map, or a tiny shipped decoder."""

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


class Preview:
    """Projects the first latent of a batch to a small RGB frame (subclasses say how).

    Only the thumbnail leaves the device: on CUDA through a pinned buffer with a non-blocking
    copy and an event, so the step callback never waits for the GPU.
    """

    max_size: int

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        """``(C, h, w)`` latents → ``(h', w', 3)`` uint8 on the same device, h', w' ≤ max_size."""
        raise NotImplementedError

    def frame(self, latents: torch.Tensor) -> Frame:
        rgb = self.rgb(latents[0])
        if rgb.device.type != "cuda":
            return Frame(rgb)
        host = torch.empty(rgb.shape, dtype=torch.uint8, pin_memory=True)
        host.copy_(rgb, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return Frame(host, ready)


def _pool(x: torch.Tensor, max_size: int) -> torch.Tensor:
    """``(C, H, W)`` average-pooled to at most ``max_size`` a side."""
    stride = math.ceil(max(x.shape[-2:]) / max_size)
    return F.avg_pool2d(x[None], stride, ceil_mode=True)[0] if stride > 1 else x


def _to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` in [-1, 1] → ``(H, W, 3)`` uint8."""
    return ((rgb.permute(1, 2, 0) + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)


class LatentPreview(Preview):
    """A linear map plus bias per latent pixel: free, and close enough for SD's own VAEs."""

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
        weight, bias = self._params(latents.device)
        # Pooled before the map, which is linear: the step callback maps the fewest pixels.
        x = _pool(latents.float(), self.max_size)
        return _to_uint8(torch.einsum("chw,cr->rhw", x, weight) + bias[:, None, None])


class NetPreview(Preview):
    """A tiny convolutional decoder shipped with a model, as TAESD is for SD: for VAEs whose
    latent space is too far from linear for a per-pixel map (the demo VAE: 45/255 mean error for
    the best linear map at latent size, 7/255 for its 12k-parameter net at full size)."""

    def __init__(self, net: torch.nn.Module, max_size: int = 128) -> None:
        self.net = net.float().eval().requires_grad_(False)
        self.max_size = max_size

    @torch.no_grad()
    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if next(self.net.parameters()).device != latents.device:
            self.net.to(latents.device)
        return _to_uint8(_pool(self.net(latents.float()[None])[0].clamp_(-1, 1), self.max_size))
