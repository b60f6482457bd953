"""A run's image arguments (init image, mask, control images) kept in its gallery, so a replay
of the gallery needs nothing passed again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image


def pil_inputs(pipe_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The PIL images (or lists of them) among a run's arguments; tensors and arrays are not
    kept, so a replay of the gallery asks for them by name."""

    def pil(value: Any) -> bool:
        if isinstance(value, list | tuple):
            return bool(value) and all(isinstance(item, Image.Image) for item in value)
        return isinstance(value, Image.Image)

    return {
        name: list(value) if isinstance(value, tuple) else value for name, value in pipe_kwargs.items() if pil(value)
    }


def write_inputs(inputs: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``inputs/<argument>.png``, or ``inputs/<argument>-<i>.png`` for a list; the file names by argument."""
    if inputs:
        (folder / "inputs").mkdir()
    names: dict[str, Any] = {}
    for argument, value in inputs.items():
        images = value if isinstance(value, list) else [value]
        files = (
            [f"inputs/{argument}-{i}.png" for i in range(len(images))]
            if isinstance(value, list)
            else [f"inputs/{argument}.png"]
        )
        for image, name in zip(images, files, strict=True):
            image.save(folder / name)
        names[argument] = files if isinstance(value, list) else files[0]
    return names
