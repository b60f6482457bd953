"""The guidance interval: the steps where guidance applies, off (one model pass a step) elsewhere.

Guidance applied only in a middle interval of the steps gives better images than guidance at
every step (Kynkäänniemi et al. 2024). An interval is ``(first, end)``: the 0-based steps
``first`` to ``end - 1``, of the steps the run really runs. Recorded as the run's
``params["guidance_interval"]`` (``[first, end]``, the one in force last; ``None``: none), and
exact in two ways, by what the family's knobs offer:

- a family whose knobs after the guidance include its guider's own ``start`` and ``stop``
  (fractions of the steps: guidance where ``int(start * n) <= step < int(stop * n)``, as
  diffusers' guiders read them) takes the interval as those two knobs: the guider switches
  itself off, and the knob curves record it;
- elsewhere the guidance curve is the guidance's off value (``Knob.off_at``) outside the
  interval, so the recorded curve is what ran and a replay or a branch repeats it. ``Held``
  keeps, per step, the guidance asked for where guidance applies (the slider's value), so a
  wider interval brings it back. A guidance with no off value (a distilled one) refuses.

The curve's changes are planned through the run's controls (``Run.plan_guidance``) when it
starts and whenever the interval or the guidance moves, as a dragged curve is: a hand change
still wins from the next step, and the planned steps after it keep the interval (each planned
value is recorded in ``Run.requests`` when its step takes it). A run's start, replay and branch
with an interval are ``interval_runs.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..families import Family
from . import validate
from .run import Run

Interval = tuple[int, int]
GUIDER = ("start", "stop")
"""The knobs of a guider's own interval, as fractions of the steps."""


class Kept(NamedTuple):
    """An interval the guidance curve keeps to already (a replay's): recorded, not applied again."""

    first: int
    end: int


def check(given: Any, steps: int = validate.MAX_STEPS) -> Interval:
    """``(first, end)`` as two integers, ``0 <= first < end <= steps``, or an error naming it."""
    if isinstance(given, str | bytes) or not isinstance(given, Sequence) or len(given) != 2:
        raise TypeError(f"guidance_interval must be (first step, end step), two integers; got {validate.shown(given)}")
    first = validate.integer("guidance_interval's first step", given[0], 0, steps - 1)
    return first, validate.integer("guidance_interval's end step", given[1], first + 1, steps)


def on_guider(family: Family) -> bool:
    """Whether the family takes the interval as its guider's ``start`` and ``stop`` knobs."""
    return set(GUIDER) <= {knob.name for knob in family.knobs()[1:]}


def off_value(family: Family) -> float:
    """The guidance at which guidance is off; ``ValueError`` for a guidance with none."""
    knob = family.knobs()[0]
    if knob.kind != "cfg" or knob.off_at is None:
        raise ValueError(
            f"guidance_interval: {type(family.pipe).__name__}'s guidance is {knob.kind}, with no value that switches "
            "it off, so it cannot be limited to an interval of the steps"
        )
    return knob.off_at


def fraction(step: int, steps: int) -> float:
    """The fraction ``f`` a guider turns back into ``step`` of ``steps`` (``int(f * steps) == step``)."""
    f = step / steps
    while int(f * steps) < step:  # step / steps may round down by one unit in the last place
        f += f * 2**-52
    return f


def guider_kwargs(interval: Interval, steps: int, pipe_kwargs: dict[str, Any], schedules: Any) -> dict[str, Any]:
    """A run's pipeline arguments with the interval as the guider's ``start`` and ``stop``."""
    if any(name in pipe_kwargs or name in (schedules or {}) for name in GUIDER):
        raise ValueError("give guidance_interval or the guider's start and stop, not both")
    interval = check(interval, validate.steps(steps))
    return {**pipe_kwargs, "start": fraction(interval[0], steps), "stop": fraction(interval[1], steps)}


def shaped(base: Sequence[float], interval: Interval, off: float) -> list[float]:
    """``base`` inside the interval, ``off`` outside it."""
    return [value if interval[0] <= i < interval[1] else off for i, value in enumerate(base)]


def next_step(run: Run) -> int:
    """The first step a control set now can still reach (a branch's shared steps are its parent's)."""
    return max(len(run.steps), len(run.plan.shared))


@dataclass
class Held:
    """A run's interval, the guidance asked for each step where guidance applies, and the steps
    planned for it (planned again whenever the interval or the guidance changes)."""

    interval: Interval
    base: list[float]
    off: float
    planned: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, run: Run, interval: Interval, off: float) -> Held:
        """For a run started without an interval: its schedule while it follows one, else the
        value it was last asked for."""
        steps, requests = run.params["steps_run"], run.requests
        if run.plan.schedule is not None and not requests:
            return cls(interval, list(run.plan.schedule), off)
        return cls(interval, [requests[-1][1] if requests else run.params["guidance_scale"]] * steps, off)

    def plan(self, run: Run, first: int, lead: int = 0) -> None:
        """Plan the steps from ``first`` on where the curve changes, the ``lead`` steps from
        ``first`` (the next boundary may be past already) and any planned before."""
        curve = shaped(self.base, self.interval, self.off)
        steps = {i for i in range(max(first, 1), len(curve)) if curve[i] != curve[i - 1]}
        steps |= {i for i in (*range(first, first + lead), *self.planned) if first <= i < len(curve)}
        if steps:
            run.plan_guidance({i: curve[i] for i in sorted(steps)})
        self.planned |= steps

    def live(self, run: Run, lead: int) -> int:
        """``plan`` from the run's next step; once more if a step ran meanwhile. Returns that step."""
        first = next_step(run)
        try:
            self.plan(run, first, lead)
        except ValueError:  # a step ran between the look and the plan: it is refused, so look again
            first = next_step(run)
            self.plan(run, first, lead)
        return first

    def set_guidance(self, run: Run, value: Any) -> float:
        """The slider's value from the next step where guidance applies; off outside, still."""
        value = validate.guidance(value)
        first = next_step(run)
        self.base[first:] = [value] * (len(self.base) - first)
        if self.interval[0] <= first < self.interval[1]:
            run.set_guidance(value)
        self.live(run, 0)
        return value
