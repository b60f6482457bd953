"""Checking what the browser sends: every message is untrusted until it passes here."""

from __future__ import annotations

from typing import Any

from . import _validate

KINDS = {"generate", "pause", "resume", "stop", "guidance", "ack", "sync", "save", "frames"}
_GENERATE_FIELDS = {"prompt", "negative_prompt", "steps", "seed", "guidance"}


def parse(content: Any) -> tuple[str, dict[str, Any]]:
    """(kind, validated arguments) or ``TypeError``/``ValueError`` saying what was wrong."""
    if not isinstance(content, dict):
        raise TypeError(f"a message must be an object, got {type(content).__name__}")
    kind = content.get("type")
    if kind not in KINDS:
        raise ValueError(f"unknown message type {kind!r:.40}")
    if kind in ("ack", "save", "frames"):
        if set(content) - {"type", "run"}:
            raise ValueError(f"{kind} takes only a run, got {', '.join(sorted(map(str, content)))[:80]}")
        # Runs have positive ids, loaded galleries negative ones; the kernel checks they exist.
        return kind, {"run": _validate.integer("run", content.get("run"), -(2**31), 2**31)}
    if kind == "guidance":
        return kind, {"value": _validate.guidance(content.get("value"))}
    if kind != "generate":
        return kind, {}
    unknown = set(content) - _GENERATE_FIELDS - {"type"}
    if unknown:
        raise ValueError(f"unknown generate fields: {', '.join(sorted(map(str, unknown)))[:80]}")
    seed = content.get("seed")
    return kind, {
        "prompt": _validate.prompt("prompt", content.get("prompt")),
        "negative_prompt": _validate.prompt("negative_prompt", content.get("negative_prompt") or None, optional=True),
        "num_inference_steps": _validate.steps(content.get("steps")),
        "seed": None if seed is None else _validate.seed(seed),
        "guidance_scale": _validate.guidance(content.get("guidance")),
    }
