"""Checking what the browser sends: every message is untrusted until it passes here.

One rule for every kind: a message is an object whose ``type`` is known and whose other fields
are exactly the ones that kind takes (optional ones may be left out or null), each validated;
anything else is refused with a ``TypeError``/``ValueError`` that names the control the user
touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..core import validate
from . import guider, lens_state

# Each kind and the fields it takes.
FIELDS: dict[str, frozenset[str]] = {
    "generate": frozenset({"prompt", "negative_prompt", "steps", "seed", "guidance", "schedule", "knob_schedules"}),
    "pause": frozenset(),
    "resume": frozenset(),
    "stop": frozenset(),
    "step": frozenset(),
    "sync": frozenset(),
    "guidance": frozenset({"value"}),
    "knob": frozenset({"name", "value"}),
    "plan": frozenset({"start", "values", "knob"}),
    "pace": frozenset({"value"}),
    "prompt": frozenset({"prompt", "negative_prompt"}),
    "breakpoints": frozenset({"steps"}),
    "interval": frozenset({"first", "end"}),
    "guider": frozenset({"name"}),
    "branch": frozenset({"run", "step", "guidance", "knobs", "prompt", "negative_prompt"}),
    "decode": frozenset({"run", "step"}),
    "ack": frozenset({"run"}),
    "save": frozenset({"run"}),
    "frames": frozenset({"run"}),
    "sweep_grid": frozenset(),
    "sweep_item": frozenset({"item"}),
    **lens_state.KINDS,
}
# What a person does on purpose; when one succeeds, an earlier refusal message is stale.
USER_ACTIONS = frozenset(FIELDS) - {"sync", "ack", "frames", "sweep_grid", "lens", "views"}
# The control a person uses to send each kind, named as the widget labels it.
CONTROL = {
    "generate": "Generate", "pause": "Pause", "resume": "Resume", "stop": "Stop", "step": "Next step",
    "sync": "The widget", "guidance": "Guidance", "knob": "Knob", "plan": "Guidance curve", "pace": "Pace",
    "prompt": "Apply prompt", "breakpoints": "Breakpoints", "branch": "Branch from here", "decode": "Decode step",
    "ack": "The widget", "save": "Save gallery", "frames": "Run", "sweep_grid": "The widget",
    "sweep_item": "Sweep item", "interval": "Guidance interval", "guider": guider.CONTROL,
    "lens": "Guidance lens", "views": "Three views", "lens_mode": "What if",
}  # fmt: skip
# Kinds whose sender waits for an answer (the page counts a prompt edit's encoding up): a refusal
# is answered too, with ``error``, so the wait ends.
ANSWERED = {"prompt": "prompt_encoded"}
CURVE = "Guidance curve"  # the chart, whichever knob it draws
RUN = (-(2**31), 2**31)  # runs have positive keys, loaded galleries negative ones; the kernel checks they exist


def parse(content: Any) -> tuple[str, dict[str, Any]]:
    """(kind, validated arguments) or ``TypeError``/``ValueError`` saying what was wrong."""
    if not isinstance(content, dict):
        raise TypeError(f"a message must be an object, got {type(content).__name__}")
    kind = content.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise ValueError(f"unknown message type {validate.shown(kind)}")
    extra = set(content) - FIELDS[kind] - {"type"}
    if extra:
        names = ", ".join(sorted(validate.shown(name) for name in extra))[:80]
        raise ValueError(f"{CONTROL[kind]}: unexpected fields {names}")
    return kind, _arguments(kind, content)


def _arguments(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``content``, each checked under the label of the control that sets it."""
    get, control = content.get, CONTROL[kind]
    if kind in ("ack", "save", "frames", "decode", "branch"):
        args: dict[str, Any] = {"run": validate.integer(f"{control}: the run", get("run"), *RUN)}
        if kind in ("decode", "branch"):
            args["step"] = validate.integer(f"{control}: the step", get("step"), 0, validate.MAX_LOOP)
        if kind == "branch":
            args.update(_optional_prompt(content, "Prompt"))
            if get("guidance") is not None:
                args["guidance_scale"] = validate.guidance(get("guidance"), "Guidance")
            if get("knobs") is not None:  # each in its own range: the kernel knows the model's knobs
                args["knobs"] = _knobs(control, get("knobs"), lambda value: _number(control, value))
        return args
    if kind == "guider":
        return guider.arguments(content)
    if kind in lens_state.KINDS:
        return lens_state.arguments(kind, content, RUN)
    if kind == "sweep_item":  # the kernel checks that the sweep has it
        return {"item": validate.integer(control, get("item"), 0, 2**31 - 1)}
    if kind == "guidance":
        return {"value": validate.guidance(get("value"), "Guidance")}
    if kind == "knob":
        name = _name(control, get("name"))
        return {"name": name, "value": _number(f"{control} {name}", get("value"))}
    if kind == "pace":
        return {"value": None if get("value") is None else validate.pace(get("value"), "Pace")}
    if kind == "prompt":
        return {"prompt": validate.prompt("Prompt", get("prompt")), **_optional_prompt(content, "Prompt")}
    if kind == "breakpoints":
        steps = validate.per_step(control, get("steps"))
        return {"steps": sorted({validate.integer(control, step, 1, validate.MAX_LOOP) for step in steps})}
    if kind == "interval":  # both null: every step; the run's own steps are checked by the kernel
        if get("first") is None and get("end") is None:
            return {"first": None, "end": None}
        first = validate.integer(f"{control}: the first step", get("first"), 0, validate.MAX_LOOP - 1)
        return {"first": first, "end": validate.integer(f"{control}: the end step", get("end"), first + 1,
                                                        validate.MAX_LOOP)}  # fmt: skip
    if kind == "plan":
        start = validate.integer(f"{control}: the first step", get("start"), 0, validate.MAX_LOOP - 1)
        values = validate.per_step(control, get("values"))[: validate.MAX_LOOP - start]
        if get("knob") is not None:  # a later knob's curve: its range is checked where the knobs are known
            return {"knob": _name(control, get("knob")), "values": {start + i: _number(control, v) for i, v in
                                                                    enumerate(values)}}  # fmt: skip
        return {"values": {start + i: validate.guidance(value, control) for i, value in enumerate(values)}}
    if kind != "generate":
        return {}
    seed, schedule, knob_schedules = get("seed"), get("schedule"), get("knob_schedules")
    return {
        **({} if knob_schedules is None else {"knob_schedules": _knobs(CURVE, knob_schedules, _curve)}),
        "prompt": validate.prompt("Prompt", get("prompt")),
        "negative_prompt": validate.prompt("Negative prompt", get("negative_prompt") or None, optional=True),
        "num_inference_steps": validate.steps(get("steps"), "Steps"),
        "seed": None if seed is None else validate.seed(seed, "Seed"),
        "guidance_scale": validate.guidance(get("guidance"), "Guidance"),
        **(
            {}
            if schedule is None
            else {
                "guidance_schedule": [
                    validate.guidance(v, "Guidance curve") for v in validate.per_step("Guidance curve", schedule)
                ]
            }
        ),
    }


def _optional_prompt(content: dict[str, Any], control: str) -> dict[str, Any]:
    """A negative prompt (and, for a branch, a prompt) only where the message carries one."""
    out = {}
    for name, label in (("prompt", control), ("negative_prompt", f"Negative {control.lower()}")):
        if content.get(name) is not None and (name == "negative_prompt" or content.get("type") == "branch"):
            out[name] = validate.prompt(label, content[name])
    return out


def _name(control: str, name: Any) -> str:
    """A knob's name as the browser sends it: short text (the kernel checks the model has it)."""
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise TypeError(f"{control}: a knob's name must be short text, got {validate.shown(name)}")
    return name


def _number(control: str, value: Any) -> float:
    """A finite number; a knob's own range is checked by the kernel, which knows the model's knobs."""
    return validate.guidance(value, control, -math.inf, math.inf)


def _curve(values: Any) -> list[float]:
    """A later knob's curve drawn for the next run: one finite number per step."""
    return [_number(CURVE, value) for value in validate.per_step(CURVE, values)]


def _knobs(control: str, value: Any, each: Callable[[Any], Any]) -> dict[str, Any]:
    """An object naming knobs (at most 16, as a gallery records them), each value checked by ``each``."""
    if not isinstance(value, dict) or len(value) > 16:
        raise TypeError(f"{control}: the knobs must be an object of at most 16 names, got {validate.shown(value)}")
    return {_name(control, name): each(item) for name, item in value.items()}
