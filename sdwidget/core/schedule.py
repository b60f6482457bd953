"""Guidance curves given in advance: a list per step, a function of the step, or a recorded run's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import prompt_rows, validate
from .plan import PromptChange

Schedule = Sequence[float] | Callable[[int], float]


def resolve(
    schedule: Any, steps: int, check: Callable[[Any], float] = validate.guidance, name: str = "guidance_schedule"
) -> list[float]:
    """One value per step, each passed through ``check``, from a list of ``steps`` values or
    ``f(step)``; ``name`` is the schedule's in messages (a knob's: ``knob_schedules['...']``)."""
    if callable(schedule):
        values = []
        for step in range(steps):
            try:
                values.append(check(schedule(step)))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name}({step}): {exc}") from None
        return values
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Sequence):
        raise TypeError(f"{name} must be a list of numbers or a function of the step, got {type(schedule).__name__}")
    if len(schedule) != steps:
        raise ValueError(f"{name} has {len(schedule)} values for {steps} steps")
    return [check(value) for value in schedule]


def stretch(curve: Sequence[float], steps: int) -> list[float]:
    """``curve`` re-sampled to ``steps`` values by progress through the run (nearest point)."""
    if len(curve) == steps or not curve:
        return list(curve)
    if steps == 1 or len(curve) == 1:
        return [curve[0]] * steps
    return [curve[round(i * (len(curve) - 1) / (steps - 1))] for i in range(steps)]


def resolve_prompts(changes: Any, steps: int, started: str | list[str]) -> tuple[PromptChange, ...]:
    """Prompt changes given in advance, as ``PromptChange``s or mappings with ``step`` (0-based,
    the first step conditioned on it, 1 ≤ step < steps), ``prompt`` and optional ``negative_prompt``,
    each one string or, for a run started with the list of prompts ``started``, one per prompt."""
    if isinstance(changes, str | bytes) or not isinstance(changes, Sequence):
        raise TypeError(f"prompt_schedule must be a list of prompt changes, got {type(changes).__name__}")
    out = []
    for i, change in enumerate(changes):
        if isinstance(change, Mapping):
            if set(change) - {"step", "prompt", "negative_prompt"}:
                raise ValueError("a prompt change has step, prompt and negative_prompt, nothing else")
            change = PromptChange(change.get("step"), change.get("prompt"), change.get("negative_prompt"))  # type: ignore[arg-type]
        if not isinstance(change, PromptChange):
            raise TypeError(f"a prompt change must be a PromptChange or a mapping, got {type(change).__name__}")
        step = validate.integer("prompt change step", change.step, 1, steps - 1)
        prompt, negative = prompt_rows.prompt_edit(
            change.prompt, change.negative_prompt, _rows(started), f"prompt_schedule[{i}] "
        )
        out.append(PromptChange(step, prompt, negative))
    if len({change.step for change in out}) != len(out):
        raise ValueError("prompt_schedule changes the prompt twice at one step")
    return tuple(sorted(out, key=lambda change: change.step))


def _rows(started: str | list[str]) -> int | None:
    """How many prompts a change must give: one per prompt of a run started with a list, else one string."""
    return len(started) if isinstance(started, list) else None
