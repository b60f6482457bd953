"""Checking what the browser sends: every message is untrusted until it passes here.

One rule for every kind: a message is an object whose ``type`` is known and whose other fields
are exactly the ones that kind takes (optional ones may be left out or null), each validated;
anything else is refused with a ``TypeError``/``ValueError`` that names the control the user
touched.
"""

from __future__ import annotations

from typing import Any

from ..core import validate
from . import fields, guider, lens_state

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
            args.update(fields.optional_prompt(content, "Prompt"))
            if get("guidance") is not None:
                args["guidance_scale"] = validate.guidance(get("guidance"), "Guidance")
            if get("knobs") is not None:  # each in its own range: the kernel knows the model's knobs
                args["knobs"] = fields.knobs(control, get("knobs"), lambda value: fields.number(control, value))
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
        name = fields.knob_name(control, get("name"))
        return {"name": name, "value": fields.number(f"{control} {name}", get("value"))}
    if kind == "pace":
        return {"value": None if get("value") is None else validate.pace(get("value"), "Pace")}
    if kind == "prompt":
        return {"prompt": validate.prompt("Prompt", get("prompt")), **fields.optional_prompt(content, "Prompt")}
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
            knob = fields.knob_name(control, get("knob"))
            return {"knob": knob, "values": {start + i: fields.number(control, v) for i, v in enumerate(values)}}
        return {"values": {start + i: validate.guidance(value, control) for i, value in enumerate(values)}}
    if kind != "generate":
        return {}
    return fields.generate(content)
