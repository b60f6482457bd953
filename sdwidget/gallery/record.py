"""A run's record detached from its pipeline: what a gallery folder holds, saved and loaded."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Run
from . import schema
from .export import write_gallery
from .inputs import pil_inputs
from .read import MAX_FRAME_SIDE, read_gallery

STEP_FIELDS = ("step", "total", "timestep", "guidance", "cfg", "elapsed", "duration")


@dataclass(eq=False)
class Gallery:
    """Everything a run recorded, with frames as ``uint8`` arrays; ``Runner.replay`` accepts it."""

    run_id: int
    params: dict[str, Any]
    """What the run was started with (see ``Run.params``)."""
    status: str
    """finished, stopped, failed — or running/paused for a snapshot taken mid-run."""
    steps: list[dict[str, Any]]
    """Per step: step (0-based), total, timestep, guidance, cfg, elapsed and duration in seconds,
    and ``knobs`` (name → value) where the model has knobs after the guidance."""
    frames: list[np.ndarray]
    """Per step, the preview thumbnail as ``height × width × 3`` uint8."""
    image: Any = None
    """The final PIL image, or ``None`` for a run that failed before producing one."""
    images: list[Any] = field(default_factory=list)
    """Every final image of a batch, ``image`` first (``final.png``, ``final-2.png``, ...)."""
    error: str | None = None
    requests: list[list] = field(default_factory=list)
    """Guidance asked for by hand: [steps recorded at the time, value]."""
    knob_requests: list[list] = field(default_factory=list)
    """Later knobs set by hand: [steps recorded at the time, name, value]."""
    prompts: list[dict[str, Any]] = field(default_factory=list)
    """Prompt changes as applied: step (the first conditioned on it), prompt, negative_prompt."""
    versions: dict[str, str] = field(default_factory=dict)
    """Package versions of the process that recorded the run."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """The run's image arguments (init image, mask, control images) as PIL images by argument
    name, a list where the run had several; ``Runner.replay`` passes them again."""
    folder: Path | None = None
    """Where the gallery was loaded from or last saved to."""

    @property
    def guidance(self) -> list[float]:
        """The guidance scale each recorded step was computed with."""
        return [step["guidance"] for step in self.steps]

    @property
    def knob_curves(self) -> dict[str, list[float]]:
        """Each knob after the guidance by name: the value each recorded step was computed with."""
        names = self.steps[0].get("knobs") or {} if self.steps else {}
        return {name: [step["knobs"][name] for step in self.steps] for name in names}

    @classmethod
    def from_run(cls, run: Run) -> Gallery:
        """A snapshot of everything ``run`` recorded so far, detached from its pipeline."""
        steps = list(run.steps)  # one consistent length even while the run appends
        return cls(
            run_id=run.id, params=json.loads(json.dumps(run.params)), status=run.status.value,
            steps=[_step(event) for event in steps],
            frames=[event.frame.numpy().copy() for event in steps], image=run.image, images=list(run.images),
            error=None if run.error is None else f"{type(run.error).__name__}: {run.error}",
            requests=[list(r) for r in run.requests], knob_requests=[list(r) for r in run.knob_requests],
            prompts=[dict(c) for c in run.prompts], versions=versions(),
            inputs=pil_inputs(run.plan.pipe_kwargs),
        )  # fmt: skip

    def metadata(self) -> dict[str, Any]:
        """What ``run.json`` holds, without the file names."""
        return {
            "format": schema.FORMAT, "version": schema.VERSION, "run_id": self.run_id, "params": self.params,
            "status": self.status, "error": self.error, "steps": self.steps, "requests": self.requests,
            **({"knob_requests": self.knob_requests} if self.knob_requests else {}),
            "prompts": self.prompts, "versions": self.versions,
        }  # fmt: skip

    def save(self, folder: str | os.PathLike) -> Path:
        """Write PNG per step and final image, contact sheet, GIF, WebP (MP4 with imageio-ffmpeg)
        and run.json into ``folder``, atomically; an existing non-empty folder is refused."""
        self.folder = write_gallery(self, Path(folder))
        return self.folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Gallery:
        """Read a folder written by ``save`` (no model needed). Galleries from strangers are safe:
        a malformed, oversized or path-escaping one raises one ``ValueError`` naming the folder."""
        folder = Path(folder)
        return cls(**read_gallery(folder), folder=folder)

    def check(self) -> None:
        """Raise ``ValueError`` unless the record, frames and image are what a gallery folder may hold."""
        where = str(self.folder) if self.folder else "this gallery"
        schema.check(self.metadata(), where)
        if len(self.frames) != len(self.steps) or not all(_is_frame(frame) for frame in self.frames):
            raise ValueError(f"{where} needs one uint8 H×W×3 frame (at most {MAX_FRAME_SIDE} a side) per step")

    def __repr__(self) -> str:
        return f"<Gallery run {self.run_id} {self.status} {len(self.steps)} steps {self.params.get('prompt')!r:.60}>"


def _step(event: Any) -> dict[str, Any]:
    """A step's record; ``knobs`` only where there are some, so other models' records stay as they were."""
    record = {name: getattr(event, name) for name in STEP_FIELDS}
    if event.knobs:
        record["knobs"] = dict(event.knobs)
    return record


def _is_frame(frame: Any) -> bool:
    shape: tuple[int, ...] = tuple(getattr(frame, "shape", ()))
    if getattr(frame, "dtype", None) != np.uint8 or len(shape) != 3 or shape[2] != 3:
        return False
    return max(shape[:2]) <= MAX_FRAME_SIDE


def versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("sdwidget", "diffusers", "torch", "transformers", "pillow"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
