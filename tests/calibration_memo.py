"""One preview calibration per VAE weights in a test process, not one per VAE object.

``auto_preview`` fits a latent→RGB map for a VAE with no published map (12 VAE round trips,
0.1 s) and caches it per VAE object. The tests build ~300 tiny pipelines whose VAEs share a
handful of weight sets, and paid ~200 calibrations a quick loop (6% of its CPU). Here the
calibration functions ``auto_preview`` calls remember each fit by the VAE's class, config and
weights, and hand every new VAE object a deep copy of the fit as first computed: the same values
a fresh calibration gives, and no refinement by one test's runs reaches another test's VAE.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import torch


def fingerprint(vae: Any) -> str:
    """The VAE's class, config and every weight's name, dtype, shape and bytes."""
    digest = hashlib.sha256(type(vae).__qualname__.encode())
    digest.update(json.dumps(dict(vae.config), sort_keys=True, default=repr).encode())
    for name, tensor in vae.state_dict().items():
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def memoized(calibrate: Callable[..., Any]) -> Callable[..., Any]:
    """``calibrate(vae, *args)`` computed once per (fingerprint, args); each call gets its own copy."""
    fits: dict[tuple, Any] = {}

    def cached(vae: Any, *args: Any, **kwargs: Any) -> Any:
        key = (fingerprint(vae), args, tuple(sorted(kwargs.items())))
        if key not in fits:
            fits[key] = calibrate(vae, *args, **kwargs)
        return copy.deepcopy(fits[key])

    cached.uncached = calibrate  # type: ignore[attr-defined]
    return cached


def install() -> None:
    """Route ``auto_preview``'s calibrations through the memo (once per process)."""
    from sdwidget.preview import auto

    for name in ("calibrate", "calibrate_unscaled"):
        if not hasattr(getattr(auto, name), "uncached"):
            setattr(auto, name, memoized(getattr(auto, name)))
