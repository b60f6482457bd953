"""What the next step takes: planned or hand-set prompt, guidance and knob values, put into the
loop at the step boundary (the step hook's second half)."""

from __future__ import annotations

from typing import Any

from ..families import Switch
from .controls import PromptEdit
from .peek import PeekHold
from .plan import RunPlan
from .run import Run


class NextStep:
    """Per run: ``take`` at every step boundary. A hand change wins over a plan and ends its
    schedule (the user has taken over that curve); steps replayed from a parent take no hand
    change (``by_hand`` false), so they come out as the parent's did."""

    def __init__(
        self, run: Run, plan: RunPlan, cfg: Switch, prompts: dict[int, PromptEdit], peek: PeekHold | None
    ) -> None:
        self.run, self.controls, self.cfg, self.prompts, self.peek = run, run.controls, cfg, prompts, peek
        self.schedule = plan.schedule
        self.knob_names = [knob.name for knob in plan.knobs]
        self.knob_schedules = dict(plan.knob_schedules)

    def take(self, pipe: Any, step_index: int, by_hand: bool, kwargs: dict, batch: int, prompt: bool) -> None:
        """Put into the loop what step ``step_index + 1`` is to run with; ``prompt``: whether a
        prompt edit can still condition a step."""
        if prompt:
            self._next_prompt(step_index + 1, by_hand, kwargs, batch)
        relaid, knobs_by_hand = self._peeked_by_hand(pipe)
        guidance = self._next_guidance(pipe, step_index, by_hand)
        guidance = relaid if guidance is None else guidance
        if guidance is not None:
            self.cfg.apply(pipe, kwargs, batch, guidance)
        for name in knobs_by_hand:
            self.knob_schedules.pop(name, None)
        if self.knob_names:
            self._next_knobs(pipe, step_index, by_hand)

    def _peeked_by_hand(self, pipe: Any) -> tuple[float | None, set[str]]:
        """Values set by hand while the step that just ran was held after its model call: their
        schedules end, as for any hand change, and a guidance is laid out again for the next step
        (the peeked step may have crossed the off value after its batch was laid out)."""
        if self.peek is None:
            return None, set()
        guidance, knobs = self.peek.take_hand()
        if guidance:
            self.schedule = None
        return (float(pipe.guidance_scale) if guidance else None), knobs

    def _next_prompt(self, step: int, by_hand: bool, kwargs: dict, batch: int) -> None:
        """Condition step ``step`` on a planned prompt or, once steering is by hand, an edit."""
        edit = (self.controls.take_prompt() if by_hand else None) or self.prompts.get(step)
        if edit is not None:
            self.cfg.swap_prompt(kwargs, batch, edit.embeddings, edit.negative_prompt is not None)
            self.run.record_prompt(step, edit.prompt, edit.negative_prompt)

    def _next_knobs(self, pipe: Any, step_index: int, by_hand: bool) -> None:
        """Each later knob as ``_next_guidance`` does the guidance: a hand value ends its schedule."""
        asked = self.controls.take_knobs() if by_hand else {}
        for name in self.knob_names:
            if name in asked:
                self.knob_schedules.pop(name, None)
                self.cfg.set(pipe, name, asked[name])
            elif step_index + 1 < len(planned := self.knob_schedules.get(name, ())):
                self.cfg.set(pipe, name, planned[step_index + 1])

    def _next_guidance(self, pipe: Any, step_index: int, by_hand: bool) -> float | None:
        """A hand-set value wins and ends any schedule: the user has taken over the curve."""
        asked = self.controls.take_guidance(step_index + 1) if by_hand else None
        if asked is not None:
            self.schedule = None
            return asked
        if self.schedule is None or step_index + 1 >= len(self.schedule):
            return None
        planned = self.schedule[step_index + 1]
        return None if planned == pipe.guidance_scale else planned
