"""Modular pipelines (``diffusers.modular_pipelines``): steered through their own extension
points, a block inserted into the denoise loop and the guider's attributes (or the block state's
distilled guidance) set between steps, never by changing what a model computes. Every per-step
setting of a guider is a knob (``guiders.py``)."""

from __future__ import annotations

from typing import Any

from .family import Unchecked
from .flux import ModularFlux
from .sd3 import ModularStableDiffusion3
from .sdxl import ModularStableDiffusionXL

MODULAR: tuple[type[Any], ...] = (ModularStableDiffusionXL, ModularStableDiffusion3, ModularFlux, Unchecked)
"""The modular families, asked in order: any other modular pipeline is refused (``Unchecked``)."""
Unchecked.steered = tuple(name for family in MODULAR[:-1] for name in family.pipelines)

__all__ = ["MODULAR", "ModularFlux", "ModularStableDiffusion3", "ModularStableDiffusionXL"]
