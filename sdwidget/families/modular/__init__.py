"""Modular pipelines (``diffusers.modular_pipelines``): steered through their own extension
points, a block inserted into the denoise loop and the guider's attributes set between steps,
never by patching a model. Every per-step setting of the guider is a knob (``guiders.py``)."""

from __future__ import annotations

from .sdxl import ModularStableDiffusionXL

__all__ = ["ModularStableDiffusionXL"]
