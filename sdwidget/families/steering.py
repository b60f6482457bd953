"""What a family hands the engine for one run: its knobs, its encoded prompts, the switch that
puts a value into the loop at a step boundary, and how a step's output splits into guidance's
halves (``Parts``). The questions a family answers before and around a run are ``protocol.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from .recall import OtherHalf, Recall


@dataclass(frozen=True)
class Knob:
    """One value a person steers while a run goes, applied at the next step boundary. A family's
    first knob is the run's guidance (``Run.guidance``); every later one is recorded per step too
    (``Run.knob_curves``), planned (``knob_schedules``), replayed and branched the same way."""

    name: str
    """The pipeline argument it starts from (``guidance_scale``, ``guidance_rescale``)."""
    kind: str
    """What a value means: ``"cfg"``, classifier-free guidance, off at ``off_at`` and below;
    ``"distilled"``, a guidance embedding the model was trained with, which has no such switch;
    ``"rescale"``, a share (0 to 1) of a guided step pulled back to the conditional one's spread."""
    default: float
    """The model's own default, the widget's first value."""
    low: float = 0.0
    high: float = 100.0
    off_at: float | None = None
    """Where ``kind == "cfg"``: the value at and below which guidance is off (one pass a step)."""
    meaning: str = ""
    """One sentence for a person: what turning it does."""


@dataclass(frozen=True)
class Embeddings:
    """One prompt pair encoded: the pipeline's keyword arguments, and both halves by the names
    step callbacks see them under (``prompt_embeds``; the pooled ones too, where there are some)."""

    call: dict[str, torch.Tensor]
    cond: dict[str, torch.Tensor]
    uncond: dict[str, torch.Tensor]


class Switch(Protocol):
    """The step hook's side of a family: at a step boundary, puts a knob value or a new prompt
    into the loop's own tensors (``kwargs``: the step callback's, for ``batch`` images)."""

    names: list[str]
    """The callback tensors it reads and changes, besides ``latents``."""

    def active(self, pipe: Any) -> bool:
        """Whether the next step runs classifier-free guidance (two passes)."""
        ...

    def apply(self, pipe: Any, kwargs: dict, batch: int, value: float) -> None:
        """Set the knob to ``value`` for the next step."""
        ...

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        """Condition the next step on ``embeddings`` (and their unconditional half, with ``negative``)."""
        ...

    def value(self, pipe: Any, name: str) -> float:
        """The value the knob ``name`` (a knob after the first) had for the step that just ran."""
        ...

    def set(self, pipe: Any, name: str, value: float) -> None:
        """Set the knob ``name`` (a knob after the first) to ``value`` for the next step."""
        ...


class OneKnob:
    """A switch whose family's only knob is the run's guidance: there is no later knob to read or set."""

    def value(self, pipe: Any, name: str) -> float:
        raise KeyError(f"{type(pipe).__name__} has no knob {name!r} besides its guidance")

    def set(self, pipe: Any, name: str, value: float) -> None:
        raise KeyError(f"{type(pipe).__name__} has no knob {name!r} besides its guidance")


@dataclass(frozen=True)
class Steering:
    """What one pipeline call is steered with, inside ``Family.steer``."""

    switch: Switch
    call: dict[str, Any]
    """The keyword arguments the pipeline is called with: embeddings and the run's own arguments."""
    invoke: Callable[..., list[Any]] | None = None
    """Where a pipeline is not called as diffusers' classic pipelines are (a modular one): calls
    it with the run's common arguments (``num_inference_steps``, ``guidance_scale``, ``height``,
    ``width``, ``generator``, ``callback_on_step_end``, ...) and returns its PIL images."""
    parts: Parts | None = None
    """How its kept outputs give guidance's halves (a guidance lens); ``None``: no free lens."""
    no_lens: str = "its loop combines guidance where the two halves are not kept"
    """Where ``parts`` is ``None``: why, in words, after "no free guidance lens: "."""
    recall: Recall | None = None
    """Where guidance is a model input (distilled): a step's model calls made again at another
    value (a paid lens); ``None``: none."""
    other_half: OtherHalf | None = None
    """Where a step that ran with CFG off (one half) can be made again as one under CFG, for one
    model call: both its halves, for a guidance lens there; ``None``: none."""


class Parts(Protocol):
    """How one step's kept denoiser output splits into guidance's two halves and how the loop
    combines them: all a guidance lens needs to show any value's effect without a model call."""

    def halves(self, kept: torch.Tensor, rows: int) -> tuple[torch.Tensor, ...]:
        """(unconditional, conditional) of a step whose latents have ``rows`` rows, or, where the
        step computed one half only (guidance off), that one output as the scheduler took it."""
        ...

    def combine(
        self, uncond: torch.Tensor, cond: torch.Tensor, guidance: float, knobs: dict[str, float]
    ) -> torch.Tensor:
        """The model output the loop would hand its scheduler at ``guidance`` (and these later
        knobs), with the loop's own formula, to the last bit."""
        ...

    def settle(self, pipe: Any, guidance: float) -> None:
        """Make ``guidance`` the value the step in progress counts as run with (a held step's
        lens applied, after the model call)."""
        ...


OutputTap = Callable[[int], AbstractContextManager[Any]]
"""Wraps the denoiser to keep (and for a branch, replay) each step's output; its argument is how
many denoiser calls make one step. A family enters it around whatever combines guidance itself."""
