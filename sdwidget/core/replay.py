"""Arguments that run a recorded run again with its guidance curve applied step by step."""

from __future__ import annotations

import json
import warnings
from typing import Any, Protocol

from .events import RunStatus
from .schedule import stretch


class Recorded(Protocol):
    """What a replay reads from a recorded run: a ``Run`` or a loaded ``Gallery``."""

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def guidance(self) -> list[float]: ...

    @property
    def prompts(self) -> list[dict[str, Any]]: ...

    @property
    def status(self) -> Any: ...


_KEPT = ("prompt", "negative_prompt", "num_inference_steps", "seed", "height", "width")


def replay_kwargs(source: Recorded, pipe: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``Runner.start`` keyword arguments from a ``Run`` or ``Gallery`` and the caller's overrides.

    The recorded curve is padded with its last value where a run ended early, and stretched
    by progress where the step count changes. A stopped run's replay stops at the same step
    unless the step count or ``stop_after`` is overridden.
    """
    p, curve = source.params, list(source.guidance)
    if not curve:
        raise ValueError("the recorded run has no steps, so there is no guidance curve to replay")
    kwargs: dict[str, Any] = {name: p[name] for name in _KEPT}
    recorded_steps = p["num_inference_steps"]
    if RunStatus(source.status) is RunStatus.STOPPED:
        kwargs["stop_after"] = len(curve)
    if "num_inference_steps" in overrides and overrides["num_inference_steps"] != recorded_steps:
        kwargs.pop("stop_after", None)
    if "prompt" not in overrides and "prompt_schedule" not in overrides and source.prompts:
        # Prompt edits land on the same step, or at the same progress when the step count changes.
        scale = (overrides.get("num_inference_steps", recorded_steps) or recorded_steps) / recorded_steps
        kwargs["prompt_schedule"] = [
            {**change, "step": max(1, round(change["step"] * scale))} for change in source.prompts
        ]
    kwargs.update(overrides)
    if "guidance_schedule" not in overrides:
        full = curve + [curve[-1]] * (recorded_steps - len(curve))
        steps = kwargs["num_inference_steps"]
        kwargs["guidance_schedule"] = stretch(full, steps) if isinstance(steps, int) and steps > 0 else full
    _warn_if_different(p, pipe)
    return kwargs


def _warn_if_different(params: dict[str, Any], pipe: Any) -> None:
    """Replays on another model or scheduler still run, but cannot give the recorded image."""
    config = json.loads(json.dumps(dict(pipe.scheduler.config), default=str))
    recorded = params.get("scheduler_config")
    if params.get("scheduler") != type(pipe.scheduler).__name__ or (recorded is not None and recorded != config):
        warnings.warn(
            f"the run was recorded with {params.get('scheduler')} and a different configuration than this "
            f"pipeline's {type(pipe.scheduler).__name__}; the replay will not match the recorded image",
            stacklevel=3,
        )
    model = str(getattr(pipe, "name_or_path", None) or "") or None  # recorded as text; a Path loads too
    if params.get("model") != model:
        warnings.warn(
            f"the run was recorded on model {params.get('model')!r}, this pipeline is {model!r}; "
            "the replay will not match the recorded image",
            stacklevel=3,
        )
