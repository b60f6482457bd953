"""Checking what the browser sends: every message is untrusted until it passes here.

One rule for every kind: a message is an object whose ``type`` is known and whose other fields
are exactly the ones that kind takes, each validated; anything else is refused with a
``TypeError``/``ValueError`` that names the control the user touched.
"""

from __future__ import annotations

from typing import Any

from ..core import validate

# Each kind and the fields it takes.
FIELDS: dict[str, frozenset[str]] = {
    "generate": frozenset({"prompt", "negative_prompt", "steps", "seed", "guidance"}),
    "pause": frozenset(),
    "resume": frozenset(),
    "stop": frozenset(),
    "sync": frozenset(),
    "guidance": frozenset({"value"}),
    "ack": frozenset({"run"}),
    "save": frozenset({"run"}),
    "frames": frozenset({"run"}),
}
# What a person does on purpose; when one succeeds, an earlier refusal message is stale.
USER_ACTIONS = frozenset({"generate", "pause", "resume", "stop", "guidance", "save"})
# The control a person uses to send each kind, named as the widget labels it.
CONTROL = {
    "generate": "Generate", "pause": "Pause", "resume": "Resume", "stop": "Stop", "sync": "The widget",
    "guidance": "Guidance", "ack": "The widget", "save": "Save gallery", "frames": "Run",
}  # fmt: skip


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
    if kind in ("ack", "save", "frames"):
        # Runs have positive ids, loaded galleries negative ones; the kernel checks they exist.
        return {"run": validate.integer(f"{CONTROL[kind]}: the run", content.get("run"), -(2**31), 2**31)}
    if kind == "guidance":
        return {"value": validate.guidance(content.get("value"), "Guidance")}
    if kind != "generate":
        return {}
    seed = content.get("seed")
    return {
        "prompt": validate.prompt("Prompt", content.get("prompt")),
        "negative_prompt": validate.prompt("Negative prompt", content.get("negative_prompt") or None, optional=True),
        "num_inference_steps": validate.steps(content.get("steps"), "Steps"),
        "seed": None if seed is None else validate.seed(seed, "Seed"),
        "guidance_scale": validate.guidance(content.get("guidance"), "Guidance"),
    }
