"""A run started, replayed or branched with a guidance interval (``interval.py``): its guidance
curve shaped, or its guider's ``start`` and ``stop`` set, and the interval recorded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..families import Family
from . import validate
from .interval import GUIDER, Held, Interval, Kept, check, fraction, off_value, on_guider, shaped
from .plan import RunPlan
from .run import Run
from .schedule import resolve


def branched(
    family: Family, run: Run, step: Any, changes: dict[str, Any], held: Held | None
) -> tuple[dict[str, Any], Interval | None, list[float] | None]:
    """A branch's changes (``Runner.branch``) with its interval, given or the parent's: a guider's
    as its knobs; else the guidance after ``step`` shaped by it (from the guidance asked for at
    ``step``, the ``guidance_scale`` given or a ``guidance_schedule`` of the branch's own steps),
    with the interval and the guidance asked for per step, for ``bind``."""
    changes, steps = dict(changes), run.params["steps_run"]
    given = changes.pop("guidance_interval", None)
    step = validate.integer("step", step, 0, len(run.steps))
    if on_guider(family):
        fractions = (
            {} if given is None else dict(zip(GUIDER, (fraction(i, steps) for i in check(given, steps)), strict=True))
        )
        return {**changes, **fractions}, None, None
    interval = check(given, steps) if given is not None else held and held.interval
    if not interval:
        return changes, None, None
    if "guidance_schedule" in changes:
        later = changes["guidance_schedule"]
        after = resolve((lambda i: later(step + i)) if callable(later) else later, steps - step)
    else:
        now = held.base[min(step, steps - 1)] if held else (run.guidance + [run.params["guidance_scale"]])[step - 1]
        after = [validate.guidance(changes.get("guidance_scale", now))] * (steps - step)
    base = (held.base[:step] if held else list(run.guidance[:step])) + after
    return {**changes, "guidance_schedule": shaped(base, interval, off_value(family))[step:]}, interval, base


def bind(
    family: Family, params: dict[str, Any], plan: RunPlan, interval: Interval | Kept | None, base: list[float] | None
) -> tuple[dict[str, Any], RunPlan, Held | None]:
    """A prepared run with its interval, recorded: the guidance curve off outside it (unless
    ``Kept``, or a branch's, whose ``base`` is the guidance asked for where it applies); on a
    guider, the one its ``start`` and ``stop`` give at the run's first own step."""
    steps = params["steps_run"]
    if on_guider(family):
        at, kwargs = params.get("branch_step") or 0, plan.pipe_kwargs
        values = [(plan.knob_schedules.get(name) or [kwargs.get(name, knob.default)] * steps)[at] for name, knob in
                  ((knob.name, knob) for knob in family.knobs()[1:] if knob.name in GUIDER)]  # fmt: skip
        found = (int(values[0] * steps), int(values[1] * steps))
        params["guidance_interval"] = list(found) if interval or found != (0, steps) else None
        return params, plan, None
    if interval is None:
        params["guidance_interval"] = None
        return params, plan, None
    first, end = check(interval, steps)
    curve = list(params["guidance_schedule"] or [params["guidance_scale"]] * steps)
    held = Held((first, end), base or _filled(curve, (first, end)), off_value(family))
    kept = isinstance(interval, Kept)
    if kept and shaped(curve, held.interval, held.off) != curve:  # moved during the run: the curve alone says what ran
        params["guidance_interval"] = None
        return params, plan, None
    params["guidance_interval"] = [first, end]
    if base is not None or kept:
        return params, plan, held
    curve = shaped(curve, held.interval, held.off)
    family.check_start(plan.pipe_kwargs, curve[0])
    params.update(guidance_schedule=curve, guidance_scale=curve[0])
    return params, replace(plan, schedule=curve), held


def _filled(curve: list[float], interval: Interval) -> list[float]:
    """Guidance asked for per step, from a curve: outside the interval, its nearest value inside."""
    first, end = interval
    return [curve[min(max(i, first), end - 1)] for i in range(len(curve))]
