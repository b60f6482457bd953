"""Latents → pixels, cheaply, on the latents' device: the live thumbnail of every step.

A ``Preview`` turns a step's latents into a small RGB ``Frame``. ``LatentPreview`` is a linear map
per latent pixel (published for SD's VAEs, ``FittedPreview`` fitted for others), ``NetPreview`` a
tiny decoder net. ``auto_preview(pipe)`` picks one; ``Runner(pipe, preview=...)`` takes any.
"""

from __future__ import annotations

from .auto import auto_preview
from .base import Preview
from .fit import FittedPreview, MapFit, calibrate, decode, encode, synthetic_images
from .frame import Frame
from .linear import LatentPreview, known_map
from .net import DECODER_FILE, NetPreview, small_decoder

__all__ = [
    "DECODER_FILE",
    "FittedPreview",
    "Frame",
    "LatentPreview",
    "MapFit",
    "NetPreview",
    "Preview",
    "auto_preview",
    "calibrate",
    "decode",
    "encode",
    "known_map",
    "small_decoder",
    "synthetic_images",
]
