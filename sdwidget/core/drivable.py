"""Which pipelines a runner can drive step by step, and the family that steers each."""

from __future__ import annotations

import inspect
from typing import Any

from ..families import FAMILIES, SUPPORTED, Family, family_of


def family(pipe: Any) -> Family:
    """The family steering ``pipe``; refuses pipelines the runner cannot hook or re-encode prompts for."""
    if any(known.matches(pipe) for known in FAMILIES):  # a family knows its own (a modular pipeline's hook is a block)
        return family_of(pipe)
    if not callable(pipe) or "callback_on_step_end" not in inspect.signature(pipe).parameters:
        raise TypeError(
            f"{type(pipe).__name__} has no callback_on_step_end argument, so it cannot be driven "
            "step by step; use a diffusers pipeline from 0.25 or later (StableDiffusionPipeline, "
            "StableDiffusionXLPipeline, ...)"
        )
    if "prompt_embeds" not in getattr(pipe, "_callback_tensor_inputs", ()) or not hasattr(pipe, "encode_prompt"):
        raise TypeError(
            f"{type(pipe).__name__} does not expose prompt_embeds to step callbacks or has no "
            f"encode_prompt, so guidance cannot be switched mid-run; sdwidget steers {SUPPORTED}"
        )
    return family_of(pipe)
