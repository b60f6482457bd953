"""Reading a gallery folder that may come from a stranger: only what ``save`` writes, bounded.

Every file read is a regular file inside the folder, reached through no symbolic link, opened
without following one and without blocking (a FIFO in its place cannot hang the kernel), and no
larger than its limit. Images are sized from their headers before any pixel is decoded.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from . import schema

MAX_JSON_BYTES = 8 << 20
MAX_PNG_BYTES = 32 << 20
MAX_FRAME_SIDE = 1024
MAX_IMAGE_SIDE = 4096
MAX_PIXEL_BYTES = 512 << 20
"""All frames and the final image together, decoded."""
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_gallery(folder: Path) -> dict[str, Any]:
    """The fields of a ``Gallery`` read from ``folder``; one ``ValueError`` naming it otherwise."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; is it an sdwidget gallery?")
    try:
        meta = json.loads(read_bounded(folder, "run.json", MAX_JSON_BYTES))
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} holds no run.json; is it an sdwidget gallery?") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{folder}/run.json cannot be read: {_short(exc)}") from None
    schema.check(meta, f"{folder}/run.json", saved=True)  # saved: a folder's record must list its files
    files = meta["files"]
    try:
        pixels = Budget()
        frames = [np.asarray(_image(folder, name, MAX_FRAME_SIDE, pixels)) for name in files["steps"]]
        image = _image(folder, files["final"], MAX_IMAGE_SIDE, pixels) if files["final"] else None
        batch = [_image(folder, name, MAX_IMAGE_SIDE, pixels) for name in files.get("batch") or ()]
        inputs = read_inputs(folder, files.get("inputs") or {}, pixels)  # galleries from before inputs have none
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder} is not a valid sdwidget gallery: {_short(exc)}") from None
    names = ("run_id", "params", "status", "steps", "error", "requests", "versions")
    record = {name: meta[name] for name in names}
    return {
        **record,
        "prompts": meta.get("prompts", []),
        "knob_requests": meta.get("knob_requests", []),
        "frames": frames,
        "image": image,
        "images": [image, *batch] if image else [],
        "inputs": inputs,
    }


def read_inputs(folder: Path, files: dict[str, Any], pixels: Budget | None = None) -> dict[str, Any]:
    """A run's image arguments by name (a list where it had several) from the files that name
    them, as ``files.inputs`` of a ``run.json`` does (checked against the schema first)."""
    pixels = pixels or Budget()
    return {
        argument: [_image(folder, one, MAX_IMAGE_SIDE, pixels) for one in name]
        if isinstance(name, list)
        else _image(folder, name, MAX_IMAGE_SIDE, pixels)
        for argument, name in files.items()
    }


class Budget:
    """Decoded bytes left for a gallery's images."""

    def __init__(self, total: int = MAX_PIXEL_BYTES) -> None:
        self.left = total

    def take(self, name: str, size: tuple[int, int]) -> None:
        self.left -= size[0] * size[1] * 3
        if self.left < 0:
            raise ValueError(f"its images add up to more than {MAX_PIXEL_BYTES >> 20} MiB of pixels (at {name})")


def _image(folder: Path, name: str, max_side: int, budget: Budget) -> Any:
    from PIL import Image

    with Image.open(io.BytesIO(read_bounded(folder, name, MAX_PNG_BYTES))) as image:
        if image.format != "PNG":
            raise ValueError(f"{name} is not a PNG")
        if max(image.size) > max_side:
            raise ValueError(f"{name} is {image.size[0]}×{image.size[1]}; at most {max_side} a side")
        budget.take(name, image.size)
        return image.convert("RGB")


def read_bounded(folder: Path, name: str, limit: int) -> bytes:
    """The bytes of ``folder/name`` (relative, no ``..``): a regular file reached through no
    symbolic link, at most ``limit`` bytes, else a ``ValueError`` that names it."""
    path = folder
    for part in name.split("/"):
        path = path / part
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise ValueError(f"{name} is reached through a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{name} is not a regular file")
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # swapped after the check above
            raise ValueError(f"{name} is not a regular file")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} is larger than {limit >> 20} MiB")
    return data


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
