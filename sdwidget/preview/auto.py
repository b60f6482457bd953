"""The preview a runner uses when none is given: the best one this pipeline's VAE allows."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from .base import Preview
from .fit import FittedPreview, MapFit, calibrate
from .linear import LatentPreview, known_map
from .net import DECODER_FILE, NetPreview

# Calibrating costs a few VAE round trips, so each VAE object is fitted once per process and
# every runner on it shares (and refines) the same fit.
_FITS: weakref.WeakKeyDictionary[Any, MapFit] = weakref.WeakKeyDictionary()


def auto_preview(pipe: Any, max_size: int = 128) -> Preview:
    """In order: a decoder shipped in the model's folder (``preview_decoder.safetensors``, as the
    demo model has), the published map of SD 1.x/2.x and SDXL's VAEs, else a map fitted to this
    VAE and refined by every finished run."""
    folder = getattr(pipe, "name_or_path", None)
    if folder and (Path(folder) / DECODER_FILE).is_file():
        return NetPreview.from_file(Path(folder) / DECODER_FILE, max_size=max_size)
    known = known_map(pipe.vae.config)
    if known is not None:
        return LatentPreview(*known, max_size=max_size)
    if pipe.vae not in _FITS:
        _FITS[pipe.vae] = calibrate(pipe.vae)
    return FittedPreview(_FITS[pipe.vae], max_size=max_size)
