"""What a run's thread needs besides its recorded parameters, checked before the thread starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers.callbacks import PipelineCallback

from ..families import Knob
from ..preview import Frame
from .latents import LatentStore
from .outputs import OutputStore


@dataclass(frozen=True)
class PromptChange:
    """From step ``step`` (0-based) on, the run is conditioned on ``prompt``; a ``negative_prompt``
    of ``None`` keeps the one before. A run started with a list of prompts may take a list (one
    per prompt, ``prompt_rows.prompt_edit``); one string applies to every row."""

    step: int
    prompt: str | list[str]
    negative_prompt: str | list[str] | None = None


@dataclass(frozen=True)
class RunPlan:
    """How to drive one run; ``Run.params`` holds what it is recorded with."""

    schedule: list[float] | None = None
    """Guidance per step given in advance (a schedule or a replayed curve); a hand change ends it."""
    knobs: tuple[Knob, ...] = ()
    """The family's knobs after the guidance, steered by name (``knobs.py``)."""
    knob_schedules: dict[str, list[float]] = field(default_factory=dict)
    """Those knobs' values per step given in advance; a hand change to one ends its schedule."""
    prompts: tuple[PromptChange, ...] = ()
    """Prompt changes given in advance (a replay's), in step order."""
    keep: LatentStore | None = None
    """Where to keep each step's latents for ``Run.decode_step``; ``None`` keeps none."""
    outputs: OutputStore | None = None
    """Where to keep each step's UNet output, so the run can be branched from."""
    shared: list[torch.Tensor] = field(default_factory=list)
    """A branch's parent's UNet outputs: these first steps are not computed again."""
    shared_frames: list[Frame] = field(default_factory=list)
    """The parent's thumbnails of those steps, shown again rather than made again."""
    stop_after: int | None = None
    """Stop once this many steps have run (a stopped run's replay)."""
    pause_at: frozenset[int] = frozenset()
    """Hold once each of these step counts is reached (breakpoints, 1-based)."""
    pace: float | None = None
    """At most this many steps a second; ``None`` is full speed."""
    callbacks: list[PipelineCallback] = field(default_factory=list)
    """The user's own diffusers callbacks, chained after the step hook."""
    pipe_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra pipeline arguments (``guidance_rescale``, ``eta``, ...), passed through."""
