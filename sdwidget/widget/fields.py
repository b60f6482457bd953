"""The browser's fields that several message kinds check alike (``messages.py``): a new run's
arguments, knob names and maps, finite numbers, curves, optional prompts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..core import validate

CURVE = "Guidance curve"  # the chart, whichever knob it draws


def generate(content: dict[str, Any]) -> dict[str, Any]:
    """A ``generate`` message's run arguments, each named by the control that sets it."""
    get = content.get
    seed, schedule, knob_schedules = get("seed"), get("schedule"), get("knob_schedules")
    return {
        **({} if knob_schedules is None else {"knob_schedules": knobs(CURVE, knob_schedules, curve)}),
        "prompt": validate.prompt("Prompt", get("prompt")),
        "negative_prompt": validate.prompt("Negative prompt", get("negative_prompt") or None, optional=True),
        "num_inference_steps": validate.steps(get("steps"), "Steps"),
        "seed": None if seed is None else validate.seed(seed, "Seed"),
        "guidance_scale": validate.guidance(get("guidance"), "Guidance"),
        **({} if schedule is None else {"guidance_schedule": [validate.guidance(v, CURVE) for v in
                                                                validate.per_step(CURVE, schedule)]}),
    }  # fmt: skip


def optional_prompt(content: dict[str, Any], control: str) -> dict[str, Any]:
    """A negative prompt (and, for a branch, a prompt) only where the message carries one."""
    out = {}
    for name, label in (("prompt", control), ("negative_prompt", f"Negative {control.lower()}")):
        if content.get(name) is not None and (name == "negative_prompt" or content.get("type") == "branch"):
            out[name] = validate.prompt(label, content[name])
    return out


def knob_name(control: str, value: Any) -> str:
    """A knob's name as the browser sends it: short text (the kernel checks the model has it)."""
    if not isinstance(value, str) or not 0 < len(value) <= 100:
        raise TypeError(f"{control}: a knob's name must be short text, got {validate.shown(value)}")
    return value


def number(control: str, value: Any) -> float:
    """A finite number; a knob's own range is checked by the kernel, which knows the model's knobs."""
    return validate.guidance(value, control, -math.inf, math.inf)


def curve(values: Any) -> list[float]:
    """A later knob's curve drawn for the next run: one finite number per step."""
    return [number(CURVE, value) for value in validate.per_step(CURVE, values)]


def knobs(control: str, value: Any, each: Callable[[Any], Any]) -> dict[str, Any]:
    """An object naming knobs (at most 16, as a gallery records them), each value checked by ``each``."""
    if not isinstance(value, dict) or len(value) > 16:
        raise TypeError(f"{control}: the knobs must be an object of at most 16 names, got {validate.shown(value)}")
    return {knob_name(control, key): each(item) for key, item in value.items()}
