"""What a run reports to its observers: a frame per step and every change of status.

Each event carries the ``Run`` it belongs to, so an observer has all it needs in hand and never
reaches back into the runner (which may have started another run meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from ..preview import Frame

if TYPE_CHECKING:
    from .run import Run


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


@dataclass(frozen=True)
class StepEvent:
    """One finished denoising step."""

    run: Run = field(repr=False, compare=False)
    """The run this step belongs to."""
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
    knobs: dict[str, float] = field(default_factory=dict)
    """The values this step was computed with of the knobs after the guidance, by name."""

    @property
    def run_id(self) -> int:
        return self.run.id


@dataclass(frozen=True)
class StatusEvent:
    """A run changed status; ``error`` holds the message of a failure."""

    run: Run = field(repr=False, compare=False)
    """The run whose status changed."""
    status: RunStatus
    step: int
    """Steps completed so far."""
    error: str | None = None

    @property
    def run_id(self) -> int:
        return self.run.id
