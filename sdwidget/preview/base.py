"""The one interface every preview implements: latents on their device → a small RGB ``Frame``."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .frame import Frame


class Preview:
    """Projects the first latent of a batch to a small RGB frame (subclasses say how).

    Pass one to ``Runner(pipe, preview=...)``; without one the runner picks ``auto_preview``.
    Only the thumbnail leaves the device: on CUDA through a pinned buffer with a non-blocking
    copy and an event, so the step callback never waits for the GPU.
    """

    max_size: int
    """The longest side of a frame, in pixels."""

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        """``(C, h, w)`` latents → ``(h', w', 3)`` uint8 on the same device, h', w' ≤ max_size."""
        raise NotImplementedError

    def learn(self, latents: torch.Tensor, image: Any) -> None:
        """Called with each finished run's final latents and image (PIL); previews that can
        improve from a real decode do so here, the others ignore it."""

    def frame(self, latents: torch.Tensor) -> Frame:
        rgb = self.rgb(latents[0])
        if rgb.device.type != "cuda":
            return Frame(rgb)
        host = torch.empty(rgb.shape, dtype=torch.uint8, pin_memory=True)
        host.copy_(rgb, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return Frame(host, ready)


def pool(x: torch.Tensor, max_size: int) -> torch.Tensor:
    """``(C, H, W)`` average-pooled to at most ``max_size`` a side."""
    stride = math.ceil(max(x.shape[-2:]) / max_size)
    return F.avg_pool2d(x[None], stride, ceil_mode=True)[0] if stride > 1 else x


def to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` in [-1, 1] → ``(H, W, 3)`` uint8."""
    return ((rgb.permute(1, 2, 0) + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)
