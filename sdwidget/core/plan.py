"""What a run's thread needs besides its recorded parameters, checked before the thread starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diffusers.callbacks import PipelineCallback

from .latents import LatentStore


@dataclass(frozen=True)
class RunPlan:
    """How to drive one run; ``Run.params`` holds what it is recorded with."""

    schedule: list[float] | None = None
    """Guidance per step given in advance (a schedule or a replayed curve); a hand change ends it."""
    keep: LatentStore | None = None
    """Where to keep each step's latents for ``Run.decode_step``; ``None`` keeps none."""
    stop_after: int | None = None
    """Stop once this many steps have run (a stopped run's replay)."""
    callbacks: list[PipelineCallback] = field(default_factory=list)
    """The user's own diffusers callbacks, chained after the step hook."""
    pipe_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra pipeline arguments (``guidance_rescale``, ``eta``, ...), passed through."""
