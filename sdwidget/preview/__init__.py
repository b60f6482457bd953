"""Latents → pixels, cheaply, on the latents' device: the live thumbnail of every step.

A ``Preview`` turns a step's latents into a small RGB ``Frame``. ``LatentPreview`` is a linear map
per latent pixel (published for SD's VAEs, ``FittedPreview`` fitted for others), ``NetPreview`` a
tiny decoder net, ``TinyPreview`` a TAESD-family ``AutoencoderTiny``, ``DecodedPreview`` the
VAE's own decode on a worker thread (exact, where the VAE keeps up with the steps). ``auto_preview(pipe)`` picks
one; ``as_preview(obj)`` makes one of what a user hands ``Runner(pipe, preview=...)``. Each says
how rough it is (``Preview.error``).
"""

from __future__ import annotations

from .auto import auto_preview
from .base import Preview
from .decoded import DecodedPreview
from .fit import FittedPreview, MapFit, calibrate, decode, encode, synthetic_images
from .frame import Frame
from .linear import LatentPreview
from .net import DECODER_FILE, NetPreview, PreviewDecoder, small_decoder
from .published import known_map
from .tiny import TinyPreview, as_preview

__all__ = [
    "DECODER_FILE",
    "DecodedPreview",
    "FittedPreview",
    "Frame",
    "LatentPreview",
    "MapFit",
    "NetPreview",
    "Preview",
    "PreviewDecoder",
    "TinyPreview",
    "as_preview",
    "auto_preview",
    "calibrate",
    "decode",
    "encode",
    "known_map",
    "small_decoder",
    "synthetic_images",
]
