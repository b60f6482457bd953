"""Guidance curves given in advance: a list per step, a function of the step, or a recorded run's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import validate

Schedule = Sequence[float] | Callable[[int], float]


def resolve(schedule: Any, steps: int) -> list[float]:
    """One validated guidance value per step, from a list of ``steps`` values or ``f(step)``."""
    if callable(schedule):
        values = []
        for step in range(steps):
            try:
                values.append(validate.guidance(schedule(step)))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"guidance_schedule({step}): {exc}") from None
        return values
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Sequence):
        raise TypeError(
            f"guidance_schedule must be a list of numbers or a function of the step, got {type(schedule).__name__}"
        )
    if len(schedule) != steps:
        raise ValueError(f"guidance_schedule has {len(schedule)} values for {steps} steps")
    return [validate.guidance(value) for value in schedule]


def stretch(curve: Sequence[float], steps: int) -> list[float]:
    """``curve`` re-sampled to ``steps`` values by progress through the run (nearest point)."""
    if len(curve) == steps or not curve:
        return list(curve)
    if steps == 1 or len(curve) == 1:
        return [curve[0]] * steps
    return [curve[round(i * (len(curve) - 1) / (steps - 1))] for i in range(steps)]
