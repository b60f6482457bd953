"""What changes a sweep's pixels besides its inputs, recorded in ``sweep.json`` and checked on resume.

Why: ``--threads 2`` changed 5 of 12 images (a CPU reduction splits differently), and another
GPU type, dtype or torch/diffusers version changes them too; a resume under another one mixed
two kinds of images in one folder without a word. The environment is part of the sweep's
identity: a resume that differs is refused with what differs, and so is a launch whose
processes differ among themselves (two GPU types on two nodes).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import torch

PACKAGES = ("torch", "diffusers", "transformers", "sdwidget")


def environment(device: torch.device, threads: int | None, on_cpu: bool, dtype: str) -> dict[str, Any]:
    """The device type (the GPU's name), dtype, CPU threads (on the CPU only) and versions."""
    kind = device.type
    if kind == "cuda":
        kind = f"cuda: {torch.cuda.get_device_name(device)}"
    return {
        "device": kind, "dtype": dtype, "threads": threads if on_cpu else None,
        "versions": {name: _version(name) for name in PACKAGES},
    }  # fmt: skip


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def changes(ours: dict[str, Any], theirs: Any, theirs_name: str = "the folder's sweep") -> list[str]:
    """What differs, as ``threads 1 (the folder's sweep) → 2 (this one)`` phrases."""
    if not isinstance(theirs, dict):
        return ["the environment is not recorded as a mapping"]
    out = []
    for key, value in ours.items():
        if key == "versions" and isinstance(theirs.get(key), dict):
            out += [f"{name} {theirs[key].get(name)} ({theirs_name}) → {v} (this one)"
                    for name, v in value.items() if theirs[key].get(name) != v]  # fmt: skip
        elif theirs.get(key) != value:
            out.append(f"{key} {theirs.get(key)} ({theirs_name}) → {value} (this one)")
    return out
