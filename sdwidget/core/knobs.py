"""The knobs after a run's guidance: checked, planned per step, replayed and branched.

Developer notes: a family's first knob is the run's guidance and keeps its own path
(``guidance_scale``, ``guidance_schedule``, ``Run.guidance``), which every family has. The knobs
after it (``Family.knobs()[1:]``: SD's ``guidance_rescale`` today, a guider's eta or momentum
later) go through here, by name, so the engine names none: a run starts from the pipeline
argument of the same name, ``knob_schedules`` plans one value per step, a hand change
(``Run.set_knob``) takes over from the plan at the next step, each step records the value it ran
with (``StepEvent.knobs``), and a replay or a branch plans the recorded curve again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from ..families import Knob
from . import validate
from .schedule import resolve, stretch


def value(knob: Knob, given: Any) -> float:
    """``given`` as the knob's value: a finite number within its range (a whole one for a knob
    counting steps), or an error naming it."""
    checked = validate.guidance(given, knob.name, knob.low, knob.high)
    if knob.kind == "steps" and not checked.is_integer():
        raise ValueError(f"{knob.name} must be a whole number of steps, got {checked:g}")
    return checked


def named(knobs: Sequence[Knob], name: Any) -> Knob:
    """The knob called ``name``; ``ValueError`` listing the knobs there are."""
    for knob in knobs:
        if knob.name == name:
            return knob
    there = ", ".join(knob.name for knob in knobs) or "none besides the guidance"
    raise ValueError(f"knob {validate.shown(name)}: this pipeline's knobs after the guidance are {there}")


def plan(knobs: Sequence[Knob], schedules: Any, steps: int, pipe_kwargs: dict[str, Any]) -> dict[str, list[float]]:
    """One checked value per step for each knob in ``schedules`` (a mapping of knob name to a
    list or a function of the 0-based step); each schedule's first value becomes the pipeline
    argument the loop starts from (in ``pipe_kwargs``), as ``guidance_schedule``'s does. A knob
    given as a pipeline argument alone is checked here too."""
    if schedules is None:
        schedules = {}
    if not isinstance(schedules, Mapping):
        raise TypeError(f"knob_schedules must map knob names to schedules, got {type(schedules).__name__}")
    planned = {}
    for name, schedule in schedules.items():
        knob = named(knobs, name)
        planned[knob.name] = resolve(schedule, steps, partial(value, knob), f"knob_schedules[{knob.name!r}]")
        pipe_kwargs[knob.name] = planned[knob.name][0]
    for knob in knobs:
        if knob.name in pipe_kwargs:
            value(knob, pipe_kwargs[knob.name])
    return planned


def starting(knob: Knob, pipe_kwargs: dict[str, Any]) -> float:
    """The value a run starts the knob at: its pipeline argument, else the model's default."""
    return float(pipe_kwargs.get(knob.name, knob.default))


def replayed(curves: Mapping[str, list[float]], length: int, steps: int | None) -> dict[str, list[float]]:
    """Recorded curves as schedules of ``steps`` values: padded with their last value where the
    run ended early (``length`` steps were planned), stretched where the step count changes."""
    out = {}
    for name, curve in curves.items():
        full = list(curve) + [curve[-1]] * (length - len(curve))
        out[name] = stretch(full, steps) if steps else full
    return out


def branched(
    knobs: Sequence[Knob], curves: Mapping[str, list[float]], step: int, length: int, changes: dict[str, Any],
    pipe_kwargs: dict[str, Any],
) -> dict[str, list[float]]:  # fmt: skip
    """Each knob's schedule for a branch at ``step``: the parent's values before it, then the
    branch's (``changes``: a knob by name, or ``knob_schedules``), else the value held at ``step``."""
    schedules = changes.get("knob_schedules") or {}
    if not isinstance(schedules, Mapping):
        raise TypeError(f"knob_schedules must map knob names to schedules, got {type(schedules).__name__}")
    for name in schedules:
        named(knobs, name)
    out = {}
    for knob in knobs:
        before = list(curves.get(knob.name, []))[:step]
        if knob.name in schedules:
            given = schedules[knob.name]
            # A list covers the branch's own steps; a function takes the run's 0-based step.
            later = (lambda i, f=given: f(step + i)) if callable(given) else given
            after = resolve(later, length - step, partial(value, knob), f"knob_schedules[{knob.name!r}]")
        else:
            held = before[-1] if before else starting(knob, pipe_kwargs)
            after = [value(knob, changes.get(knob.name, held))] * (length - step)
        out[knob.name] = before + after
    return out


def recorded(curves: Any, steps: int, where: str = "knobs") -> dict[str, list[float]]:
    """A record's later knobs, from a file: at most 16 names, each with a finite value per
    recorded step (each value is checked against its knob's range when a run replays it)."""
    if not isinstance(curves, Mapping) or len(curves) > 16:
        raise TypeError(f"{where} must map at most 16 knob names to their values per step")
    out = {}
    for name, curve in curves.items():
        values = validate.per_step(f"{where}.{validate.shown(name)}", curve)
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 40 or len(values) != steps:
            raise ValueError(f"{where}.{validate.shown(name)}: a knob's name with one value per recorded step")
        out[name] = [validate.guidance(v, f"{where}.{name}", -validate.MAX_GUIDANCE) for v in values]
    return out
