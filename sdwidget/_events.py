"""What a run reports to its observers: a frame per step and every change of status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import torch


class RunStatus(str, Enum):
    """Where a run stands. The last three are final."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED)


@dataclass(frozen=True, eq=False)
class Frame:
    """A step's thumbnail: ``height × width × 3`` uint8 RGB on the host.

    On a GPU the copy to the host is non-blocking; ``ready`` is the CUDA event that marks its
    arrival, waited for only by whoever reads the pixels, never by the step callback.
    """

    pixels: torch.Tensor
    ready: Any = None

    def numpy(self) -> np.ndarray:
        if self.ready is not None:
            self.ready.synchronize()
        return self.pixels.numpy()

    def image(self):
        from PIL import Image

        return Image.fromarray(self.numpy(), "RGB")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, like PIL."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


@dataclass(frozen=True)
class StepEvent:
    """One finished denoising step."""

    run_id: int
    step: int
    """0-based index of the step that just ran."""
    total: int
    timestep: float
    guidance: float
    """The guidance scale this step was computed with."""
    cfg: bool
    """Whether this step ran classifier-free guidance (guidance > 1, unconditional batch on)."""
    elapsed: float
    """Seconds since the pipeline call began, paused time included."""
    duration: float
    """Seconds between the previous step boundary and this one, paused time excluded."""
    frame: Frame


@dataclass(frozen=True)
class StatusEvent:
    """A run changed status; ``error`` holds the message of a failure."""

    run_id: int
    status: RunStatus
    step: int
    """Steps completed so far."""
    error: str | None = None
