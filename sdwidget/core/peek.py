"""A held run's next step, computed up to its model call so a guidance lens can show it.

A run holds at a step boundary, before the next step's model call: nothing of that step exists
yet, so no value's effect on it can be shown. A peek (``Run.peek``) lets the loop go on into the
step, through the hook's work at the boundary (the values asked for so far are applied as on a
resume) and the model call, and holds the run again in ``scheduler.step``, before the scheduler
uses the output. The step's two halves are then there: a lens shows any value at no further
model call. Releasing the hold (resume, single step, stop) takes the values asked for meanwhile
and, where the halves allow, recombines the step's output with them, as the loop would have
had they been set before the call; the step is recorded with them. A value the halves cannot
give (guidance raised above its off value on a step that computed one half) waits for the next
boundary, as any later request does.

Where guidance is a model input (a distilled guidance, ``paid_lens.py``) a peek makes the step's
calls at the value in force and its lens pays a call per value. A value set while the step is held
is applied to that very step: its calls at that value (paid for by the lens already, else made on
release) give the output the scheduler steps with, and the run keeps them as the step's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..families import Switch
from ..families.steering import Parts
from .controls import Controls
from .events import RunStatus
from .paid_lens import PaidLens
from .x0 import StepInput


class PeekHold:
    """The runner thread's side of a peek: ``hold`` is called at every ``scheduler.step``."""

    def __init__(
        self, controls: Controls, emit: Callable[[RunStatus], None], parts: Parts | None, switch: Switch, pipe: Any,
        knob_names: list[str], off_at: float, paid: PaidLens | None = None,
    ) -> None:  # fmt: skip
        """``off_at``: the guidance at and below which a step runs one half (the first knob's);
        ``paid``: where guidance is a model input (``parts`` ``None``), the run's paid lens."""
        self.controls, self.emit, self.parts, self.switch, self.pipe = controls, emit, parts, switch, pipe
        self.knob_names, self.off_at, self.paid = knob_names, off_at, paid
        self.peeked: int | None = None
        """The step held after its model call, while it is."""
        self._ready: list[Callable[[int], None]] = []
        self._hand: tuple[bool, set[str]] = (False, set())

    def when_ready(self, ready: Callable[[int], None]) -> None:
        """Call ``ready(step)`` once the peeked step's model call is done (on the runner thread)."""
        self._ready.append(ready)

    def forget(self, ready: Callable[[int], None]) -> None:
        """Drop a ``when_ready`` callback whose peek was not granted."""
        if ready in self._ready:
            self._ready.remove(ready)

    def hold(
        self, step: int, given: StepInput, model_output: torch.Tensor, kept: Callable[[], torch.Tensor | None]
    ) -> torch.Tensor:
        """The model output to step with: ``model_output``, or after a peek, recombined with the
        values asked for while the step was held (``kept``: its raw output, asked for only then)."""
        if not self.controls.take_peek():
            return model_output
        if self.controls.paused:
            self.peeked = step
            if self.paid is not None:  # the value it was made at: its lens is this output's, no call
                self.paid.own(step, model_output)
            ready, self._ready = self._ready, []
            for call in ready:
                call(step)
            self.controls.wait_until_resumed()
            self.peeked = None
        output = self._release(step, given, model_output, kept())
        if not self.controls.stopping:
            self.emit(RunStatus.RUNNING)
        return output

    def _release(
        self, step: int, given: StepInput, model_output: torch.Tensor, kept: torch.Tensor | None
    ) -> torch.Tensor:
        if self.paid is not None:
            value = self.controls.take_guidance(step)
            return model_output if value is None else self._remade(step, value, given, model_output)
        assert self.parts is not None
        value, asked = self.controls.take_guidance(step), self.controls.take_knobs()
        halves = None if kept is None else self.parts.halves(kept, given.sample.shape[0])
        halves = halves if halves is not None and len(halves) == 2 else None
        if value is not None and halves is None and value > self.off_at:
            self.controls.defer_guidance(value)  # this step has no unconditional half to weigh
            value = None
        if value is None and not asked:
            return model_output
        if value is not None:
            self.parts.settle(self.pipe, value)
        for name, knob in asked.items():
            self.switch.set(self.pipe, name, knob)
        self._hand = (value is not None, set(asked))
        if halves is None:
            return model_output  # one half, no weight: the output is the conditional half whatever the value
        knobs = {name: self.switch.value(self.pipe, name) for name in self.knob_names}
        return self.parts.combine(*halves, float(self.pipe.guidance_scale), knobs)

    def _remade(self, step: int, value: float, given: StepInput, model_output: torch.Tensor) -> torch.Tensor:
        """A guidance the model takes as an input, set while the step was held: the step's output
        at ``value`` (``PaidLens.apply``), as the loop would have made it had it been set before."""
        assert self.paid is not None
        made = self.paid.made_at(step)
        if made is None:  # its calls were not kept: the value waits for the next step
            self.controls.defer_guidance(value)
            return model_output
        self.switch.apply(self.pipe, {}, given.sample.shape[0], value)
        self._hand = (True, set())
        return model_output if value == made else self.paid.apply(step, value)

    def take_hand(self) -> tuple[bool, set[str]]:
        """(whether the guidance, and which later knobs, were set by hand while the last step was
        held), once: the hook ends their schedules and lays the next step out for the new value."""
        hand, self._hand = self._hand, (False, set())
        return hand
