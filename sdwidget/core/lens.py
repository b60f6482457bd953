"""A guidance lens: any step's x0 estimate had its guidance been another value, with no model call.

Under classifier-free guidance each step computes both halves, and the loop hands its scheduler
``uncond + g × (cond − uncond)``. The run keeps each step's raw model output (the branch store)
and here, what its ``scheduler.step`` was given (``StepInput``); the family says how the output
splits into halves and how its loop combines them (``Parts``). A lens combines the halves at
another value and steps a copy of the scheduler, taken as the run set it up, at that step's
index: the x0 is the one a branch applying that value at that step would preview, bit for bit.

No free lens where a step computed one half (guidance off: a lens above the off value needs the
other half, one model call, ``half_lens.py``, where the family can make it), where the family combines
guidance where its halves are not kept (``Steering.no_lens`` says why), or where a scheduler
takes two model calls a step (Heun: the second depends on the first's guidance). Where guidance
is a model input (distilled), the family makes a step's calls again at another value instead:
a paid lens (``paid_lens.py``), through the same copy of the scheduler.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from ..families.recall import OtherHalf, Recall
from ..families.steering import Parts
from ..preview import Frame, Preview
from . import validate
from .lens_frames import Lens, Pictures
from .outputs import OutputStore
from .x0 import StepInput, x0_of

__all__ = ["Lens", "LensRecord"]


class LensRecord:
    """A run's lens: ``before`` records each step's scheduler input (runner thread); the rest
    answers from any thread."""

    def __init__(
        self, parts: Parts | None, no_lens: str, scheduler: Any, outputs: OutputStore | None,
        last: Callable[[], torch.Tensor | None], preview: Preview, view: Callable[[torch.Tensor], torch.Tensor],
        recall: Recall | None = None, other: OtherHalf | None = None,
    ) -> None:  # fmt: skip
        """``last``: the output of the step the denoiser ran last (a held step's, kept or not);
        ``recall``: the family's, where a step's model calls can be made again (a paid lens);
        ``other``: the family's, where a step run with CFG off can be made again under CFG."""
        self.parts, self.outputs, self.last, self.view = parts, outputs, last, view
        self.pictures = Pictures(preview)
        self.recall, self.other = recall, other
        self.scheduler = scheduler
        self.refusal = None if parts is not None else no_lens
        if self.refusal is None and getattr(scheduler, "order", 1) != 1:
            self.refusal = (
                f"{type(scheduler).__name__} takes two model calls a step, the second from the first's result"
            )
        self.inputs: dict[int, StepInput] = {}
        self._snapshot: Any = None
        self._seen = 0

    def record(self, given: StepInput) -> int:
        """At each ``scheduler.step``: keep its input where the step's output is kept; its step."""
        step, self._seen = self._seen, self._seen + 1
        for calls in (self.recall, self.other):
            if calls is not None:
                calls.end_step(step)
        if self.refusal is None or self.recall is not None:
            if self._snapshot is None:  # as set up for this run, before any step changed it
                self._snapshot = _clone(self.scheduler)
            self.inputs[step] = given  # held by reference: the loop makes new latents each step
        return step

    def kept(self, step: int, held: int | None) -> torch.Tensor | None:
        """Step ``step``'s raw output: kept in the branch store, or the held step's."""
        if self.outputs is not None and step < len(self.outputs):
            return self.outputs.first(step + 1)[step]
        return self.last() if step == held else None

    def halves(self, step: int, held: int | None, ran: int) -> tuple[StepInput, tuple[torch.Tensor, ...]]:
        """(its input, its halves: two, or one where it computed one); ``ValueError`` where there is no lens."""
        if self.refusal is not None:
            raise ValueError(f"no free guidance lens: {self.refusal}")
        step = validate.integer("step", step, 0, ran)
        kept, given = self.kept(step, held), self.inputs.get(step)
        if step == ran and held != step:
            raise ValueError(
                f"step {step} has not run: while the run is held before it, run.peek() computes its model call "
                "(the one it needs anyway), then any value's lens is free"
            )
        if kept is None or given is None:
            raise ValueError(f"step {step}'s model output was not kept (over the runner's branch_budget): no lens")
        assert self.parts is not None
        return given, self.parts.halves(kept, given.sample.shape[0])

    def x0(self, given: StepInput, model_output: torch.Tensor) -> torch.Tensor:
        """The x0 the step gives with ``model_output``: its scheduler's own, on a copy at its index."""
        scheduler = _clone(self._snapshot)
        if given.index is not None:
            scheduler._step_index = given.index
        kwargs = dict(given.kwargs)
        drawn = kwargs.get("generator")  # throwaways: the run's draws stay the run's
        if isinstance(drawn, torch.Generator):
            kwargs["generator"] = torch.Generator(drawn.device)
        elif isinstance(drawn, list):
            kwargs["generator"] = [torch.Generator(g.device) for g in drawn]
        out = type(scheduler).step(
            scheduler, model_output, given.timestep, given.sample, *given.args, return_dict=True, **kwargs
        )
        x0 = x0_of(scheduler, out, model_output, given)
        if x0 is None:
            raise ValueError(f"no guidance lens: {type(scheduler).__name__} gives no x0 estimate sdwidget can read")
        return x0

    def lens(
        self, step: int, guidance: float, given: StepInput, halves: tuple[torch.Tensor, ...], knobs: dict[str, float]
    ) -> torch.Tensor:
        """The x0 latents at ``guidance`` from these halves (as the preview shows them)."""
        assert self.parts is not None
        # One half: every value at or below the off value gives it.
        output = halves[0] if len(halves) == 1 else self.parts.combine(halves[0], halves[1], guidance, knobs)
        return self.view(self.x0(given, output))

    def frame(self, latents: torch.Tensor) -> Frame:
        return self.pictures.frame(latents)


def _clone(scheduler: Any) -> Any:
    """A copy a step may change: lists and plain dicts (DPM++'s past outputs) copied, tensors shared
    (a step reads them only); the run's wrapper of ``step`` left out."""
    clone = copy.copy(scheduler)
    clone.__dict__.pop("step", None)
    for name, value in clone.__dict__.items():
        if type(value) in (list, dict):
            setattr(clone, name, copy.copy(value))
    return clone
