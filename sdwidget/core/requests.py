"""What a person asks the next step to run with: guidance, later knobs, a prompt, a planned curve.

Half of ``Controls`` (``controls.py``): values set from any thread, stamped with the steps recorded
at the time (the run's record of hand requests), and taken once at the step boundary that applies
them. The step boundary reads the usual case, nothing asked, without the lock (see ``Controls.hold``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..families import Embeddings
from . import validate


@dataclass(frozen=True)
class PromptEdit:
    """A prompt asked for during a run, encoded already; ``negative_prompt`` ``None`` keeps the old."""

    prompt: str | list[str]
    negative_prompt: str | list[str] | None
    embeddings: Embeddings


class HandRequests:
    """Guidance, knob and prompt requests of one run, under ``Controls``' condition."""

    _cond: Any  # Controls': a ``threading.Condition`` or a loop-hosted one (``loop_condition.py``)

    def __init__(self) -> None:
        self._guidance: float | None = None
        self._planned: dict[int, float] = {}
        self._prompt: PromptEdit | None = None
        self._recorded = 0
        self._knobs: dict[str, float] = {}
        self.requests: list[tuple[int, float]] = []
        """Guidance asked for by hand: (steps recorded at the time, value)."""
        self.knob_requests: list[tuple[int, str, float]] = []
        """Later knobs set by hand: (steps recorded at the time, knob name, value)."""

    def recorded(self, steps: int) -> None:
        """The run has recorded ``steps`` steps (requests are stamped with it, under the lock;
        one attribute written needs none)."""
        self._recorded = steps

    def set_guidance(self, value: Any) -> float:
        """Validate ``value`` and ask for it from the next step on; returns the validated value."""
        value = validate.guidance(value)
        with self._cond:
            self._guidance = value
            self.requests.append((self._recorded, value))
        return value

    def set_knob(self, name: str, value: float) -> None:
        """Ask for a later knob's ``value`` (checked by the run) from the next step on."""
        with self._cond:
            self._knobs[name] = value
            self.knob_requests.append((self._recorded, name, value))

    def take_knobs(self) -> dict[str, float]:
        """The later knobs asked for since the last step boundary, once."""
        if not self._knobs:  # the usual step: nothing asked, no lock (see ``hold``)
            return {}
        with self._cond:
            asked, self._knobs = self._knobs, {}
            return asked

    def plan_guidance(self, values: Mapping[int, Any]) -> dict[int, float]:
        """Set the guidance of later steps (0-based step → value), as dragging the curve does; a
        value for a step already run is refused. Each is applied, and recorded as a hand request,
        when its step comes; a slider change meanwhile wins from the next step on."""
        if not isinstance(values, Mapping):
            raise TypeError(f"planned guidance must map steps to values, got {type(values).__name__}")
        with self._cond:
            first = self._recorded
        checked = {
            validate.integer("planned step", step, first, validate.MAX_STEPS - 1): validate.guidance(value)
            for step, value in values.items()
        }
        with self._cond:
            self._planned.update(checked)
        return checked

    def set_prompt(self, edit: PromptEdit) -> None:
        with self._cond:
            self._prompt = edit

    def take_guidance(self, step: int) -> float | None:
        """The guidance asked for step ``step`` (0-based), once: the newest slider value, else a
        planned one (recorded as a hand request now); ``None`` when nothing was asked for. A point
        planned for a step whose boundary passed while ``plan_guidance`` checked it is taken here,
        late by a step, as a late slider value is (the newest such point), never left unapplied."""
        if self._guidance is None and not self._planned:  # the usual step: no lock (see ``hold``)
            return None
        with self._cond:
            value, self._guidance = self._guidance, None
            if value is not None:
                self._planned = {k: v for k, v in self._planned.items() if k > step}
                return value
            due = [k for k in self._planned if k <= step]
            if not due:
                return None
            planned = self._planned[max(due)]
            for k in due:
                del self._planned[k]
            self.requests.append((self._recorded, planned))
            return planned

    def take_prompt(self) -> PromptEdit | None:
        if self._prompt is None:  # the usual step: no lock (see ``hold``)
            return None
        with self._cond:
            edit, self._prompt = self._prompt, None
            return edit

    def defer_guidance(self, value: float) -> None:
        """Give back a value taken too late for its step: the next boundary takes it (unless a newer one)."""
        with self._cond:
            if self._guidance is None:
                self._guidance = value
