"""A swept run's image arguments (init image, mask, control images): taken from its source, named
in the sweep's identity by digest, kept in the sweep's folder and read back with an item's record.

Why: a sweep replayed an img2img, inpaint or ControlNet run without its images (each item
failed asking for ``image=...``). The images are the run's as its gallery keeps them (PIL, by
argument name, a list where it had several); a resume with other images is another sweep (the
digest differs), and ``DIR/inputs/`` lets an item's record replay on its own, as a gallery does.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..gallery import schema
from ..gallery.inputs import pil_inputs
from ..gallery.read import read_inputs
from .files import OWN, atomic_write
from .inputs import SweepError
from .model import is_pipeline, pipeline_class

_FILES = TypeAdapter(schema.InputFiles)


def held(source: Any) -> dict[str, Any]:
    """The PIL images a ``Run`` holds in its plan, or a ``Gallery`` (a ``Source``) in ``inputs``."""
    plan = getattr(source, "plan", None)
    return pil_inputs(dict(plan.pipe_kwargs)) if plan is not None else dict(getattr(source, "inputs", None) or {})


def named(held: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The images ``params["inputs"]`` names; ``SweepError`` naming those not ``held``."""
    names = list(params.get("inputs") or ())
    missing = [name for name in names if name not in held]
    if missing:
        raise SweepError(
            f"the run was started with {', '.join(missing)}, which its record does not hold as PIL images (a "
            "gallery keeps PIL images only, not tensors); start the run with PIL images to sweep it"
        )
    return {name: held[name] for name in names}


def digests(inputs: dict[str, Any]) -> dict[str, Any]:
    """Each image as ``sha256:HEX`` of its mode, size and pixels: the sweep's identity names them so."""

    def one(image: Any) -> str:
        pixels = hashlib.sha256(f"{image.mode} {image.size[0]}x{image.size[1]} ".encode())
        pixels.update(image.tobytes())
        return f"sha256:{pixels.hexdigest()}"

    return {name: [one(i) for i in value] if isinstance(value, list) else one(value) for name, value in inputs.items()}


def files(inputs: dict[str, Any]) -> dict[str, Any]:
    """Where the sweep's folder keeps them: the names a gallery's ``run.json`` gives them."""
    return {
        name: [f"inputs/{name}-{i}.png" for i in range(len(value))] if isinstance(value, list) else f"inputs/{name}.png"
        for name, value in inputs.items()
    }


def write(folder: Path, inputs: dict[str, Any]) -> None:
    """``DIR/inputs/*.png`` (main process, before any item), each written atomically."""
    if not inputs:
        return
    where = folder / "inputs"
    where.mkdir(exist_ok=True)
    if not stat.S_ISDIR(os.lstat(where).st_mode):  # made a link since the folder was checked
        raise SweepError(f"{where} is not a folder of its own (a link or a file): {OWN}")
    for stale in where.glob(".*.tmp"):  # an interrupted write's
        stale.unlink(missing_ok=True)
    for name, paths in files(inputs).items():
        images = inputs[name] if isinstance(paths, list) else [inputs[name]]
        for image, path in zip(images, paths if isinstance(paths, list) else [paths], strict=True):
            data = io.BytesIO()
            image.save(data, format="PNG")
            atomic_write(folder / path, data.getvalue())


def read(folder: Path, names: Any) -> dict[str, Any]:
    """The images a record names (``files``), read from its sweep folder as a gallery's are:
    checked names, no links, bounded sizes; ``SweepError`` otherwise."""
    try:
        return read_inputs(folder, _FILES.validate_python(names))
    except ValidationError as exc:
        raise SweepError(f"the run record's inputs are not image files of a sweep: {exc.errors()[0]['msg']}") from None
    except (OSError, ValueError) as exc:
        raise SweepError(f"the run record's images cannot be read from {folder}: {str(exc)[:200]}") from None


def check_pipeline(model: Any, inputs: dict[str, Any], recorded: str | None) -> None:
    """The run's images can be passed: a pipeline given to the sweep takes them (an inpaint run
    on a text-to-image pipeline would fail on every item), or the sweep can load the run's class."""
    if not inputs:
        return
    if not is_pipeline(model):
        if pipeline_class(recorded) is None:
            raise SweepError(
                f"the run was made by {recorded or 'a pipeline it does not name'} with {', '.join(inputs)}, which is "
                "not a diffusers pipeline class a sweep can load; sweep it in Python with model=<that pipeline>"
            )
        return
    takes = inspect.signature(model.__call__).parameters
    missing = [name for name in inputs if name not in takes]
    if missing:
        cls = recorded or "pipeline of the run's class"
        raise SweepError(
            f"the run was made by {recorded or 'a pipeline'} with {', '.join(inputs)}; the given "
            f"{type(model).__name__} takes no {', '.join(missing)}: give a {cls} ({cls}.from_pipe(pipe) shares its "
            "weights)"
        )
