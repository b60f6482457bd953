"""Which weights a sweep loads: their dtype, variant (``fp16``) and hub revision, checked before any work.

Why: ``--dtype`` defaulted to float32 whatever the run used (an fp16 run swept at its own seed
differed by 2/255; a 12B transformer in float32 needs ~67 GB), and a folder holding only fp16-variant
weights failed with a raw ``OSError`` after ``sweep.json`` was written. The dtype a sweep uses,
unless ``--dtype`` names one, is the run's own when it records one (``params["dtype"]``), else
a given pipeline's, else the one the variant names (``fp16`` → float16), else float32: a
folder's storage dtype is not the run's (the demo model stores fp16 and runs in float32).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from .inputs import SweepError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
VARIANT_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}
_WEIGHTS = re.compile(r".+?(?:\.(?P<variant>[A-Za-z0-9_-]+))?\.(?:safetensors|bin)")


def dtype_name(value: Any, what: str = "dtype") -> str:
    """``"float16"`` from ``"float16"``, ``torch.float16`` or ``"torch.float16"``; else ``SweepError``."""
    name = next((n for n, v in DTYPES.items() if v == value), str(value).removeprefix("torch."))
    if name not in DTYPES:
        raise SweepError(f"{what} must be one of {', '.join(DTYPES)}, got {str(value)!r:.40}")
    return name


def resolve_dtype(explicit: Any, params: dict[str, Any], pipe: Any, variant: str | None) -> str:
    """The dtype to sweep in (see the module's note); a given pipeline's is not overridden."""
    if pipe is not None:
        own = dtype_name(pipe.dtype, "the pipeline's dtype")
        if explicit is not None and dtype_name(explicit) != own:
            raise SweepError(f"dtype={dtype_name(explicit)} but the given pipeline is {own}; convert it or omit dtype")
        return own
    if explicit is not None:
        return dtype_name(explicit)
    if params.get("dtype") is not None:
        return dtype_name(params["dtype"], "the run's recorded dtype")
    return VARIANT_DTYPES.get(variant or "", "float32")


def check_variant(folder: Path, variant: str | None) -> None:
    """A pipeline folder has weights of the variant asked for (plain weights when none is);
    when it has only variants, the refusal names them."""
    found: set[str | None] = set()
    for path in folder.glob("*/*"):
        match = _WEIGHTS.fullmatch(path.name)
        if match is not None and not path.name.endswith(".index.json"):
            found.add(match["variant"])
    if not found or variant in found:
        return  # no weights to judge by (a custom layout): diffusers will say
    named = sorted(v for v in found if v)
    if variant is None:
        raise SweepError(f"{folder} holds only {', '.join(named)}-variant weights; pass --variant {named[0]}")
    plain = ["no variant (omit --variant)"] if None in found else []
    raise SweepError(f"{folder} holds no {variant}-variant weights; it has {', '.join(plain + named)}")


def check_revision(location: str, revision: str | None, is_folder: bool) -> None:
    if revision is not None and is_folder:
        raise SweepError(f"--revision applies to a hub id, not to the folder {location}")
    if revision is not None and not re.fullmatch(r"[\w.\-/]{1,100}", revision):
        raise SweepError(f"--revision must be a branch, tag or commit hash, got {revision!r:.60}")
