"""Latents as the sampling loop holds them ↔ as the VAE reads them.

SD and SDXL scale the VAE's latents by ``scaling_factor``; SD3 and Flux also shift them first
(``(z - shift_factor) × scaling_factor``), so a decode that only divides would be off by the
shift everywhere: a uniformly tinted preview and a wrong ``decode_step``.
"""

from __future__ import annotations

from typing import Any

import torch


def _factors(vae: Any) -> tuple[float, float]:
    config = vae.config
    return float(config.scaling_factor), float(getattr(config, "shift_factor", None) or 0.0)


def to_vae(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Loop latents → what ``vae.decode`` takes."""
    scale, shift = _factors(vae)
    return latents / scale + shift if shift else latents / scale


def from_vae(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """What ``vae.encode`` gives → loop latents."""
    scale, shift = _factors(vae)
    return (latents - shift) * scale if shift else latents * scale
