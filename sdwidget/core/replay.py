"""Arguments that run a recorded run again with its guidance curve applied step by step."""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any, Protocol

from ..families import Family
from . import knobs, validate
from .events import RunStatus
from .inputs import steps_run
from .schedule import stretch


class Recorded(Protocol):
    """What a replay reads from a recorded run: a ``Run`` or a loaded ``Gallery``. One that also
    has ``knob_curves`` (the knobs after the guidance, per step) has those replayed too."""

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def guidance(self) -> list[float]: ...

    @property
    def prompts(self) -> list[dict[str, Any]]: ...

    @property
    def status(self) -> Any: ...


_KEPT = ("prompt", "negative_prompt", "num_inference_steps", "seed", "height", "width")
# ``Runner.start``'s own arguments; every other keyword goes to the pipeline.
_STARTS = {
    *_KEPT,
    "guidance_scale",
    "callbacks",
    "guidance_schedule",
    "knob_schedules",
    "prompt_schedule",
    "keep_latents",
    "stop_after",
    "pause_at",
    "pace",
}


def replay_kwargs(source: Recorded, family: Family, overrides: dict[str, Any]) -> dict[str, Any]:
    """``Runner.start`` keyword arguments from a ``Run`` or ``Gallery`` and the caller's overrides.

    Every plain pipeline argument the run was started with is passed again, and its images (a
    run's own, a gallery's saved ones) unless overridden. The recorded curve is padded with its
    last value where a run ended early, and stretched by progress where the number of steps run
    changes. A stopped run's replay stops at the same step unless the step count or
    ``stop_after`` is overridden.
    """
    p, curve, pipe = source.params, list(source.guidance), family.pipe
    if not curve:
        raise ValueError("the recorded run has no steps, so there is no guidance curve to replay")
    kwargs: dict[str, Any] = {name: p[name] for name in _KEPT}
    # Pipeline arguments only: a record from a stranger cannot set the replay's own (pause_at, ...).
    accepted = inspect.signature(pipe.__call__).parameters
    recorded = (p.get("pipe_kwargs") or {}).items()
    kwargs.update({k: _untupled(accepted.get(k), v) for k, v in recorded if k not in _STARTS})
    kwargs.update(_images(source, overrides))
    recorded_steps = p["num_inference_steps"]
    recorded_run = p.get("steps_run", recorded_steps)
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
    steps = _steps_run(pipe, kwargs)
    if "guidance_schedule" not in overrides:
        full = curve + [curve[-1]] * (recorded_run - len(curve))
        kwargs["guidance_schedule"] = stretch(full, steps) if steps else full
    if "knob_schedules" not in overrides:
        # A knob the caller names keeps that value throughout; the others replay their curves.
        kept = getattr(source, "knob_curves", None) or {}
        curves = {name: curve for name, curve in kept.items() if name not in overrides and curve}
        kwargs["knob_schedules"] = knobs.replayed(curves, recorded_run, steps)
    _warn_if_different(p, family)
    return kwargs


def _untupled(parameter: inspect.Parameter | None, value: Any) -> Any:
    """A JSON record holds tuples as lists; a pipeline argument typed as a tuple is one again
    (sizes and crop corners: the pipelines add them, ``original_size + crops_coords_top_left``)."""
    typed = str(getattr(parameter, "annotation", ""))
    wants_tuple = ("Tuple[" in typed or "tuple[" in typed) and "List[" not in typed and "list[" not in typed
    return tuple(value) if wants_tuple and isinstance(value, list) else value


def _images(source: Recorded, overrides: dict[str, Any]) -> dict[str, Any]:
    """The recorded run's image arguments: a ``Run`` keeps them in its plan, a ``Gallery`` loads them."""
    plan = getattr(source, "plan", None)
    held = dict(plan.pipe_kwargs) if plan is not None else dict(getattr(source, "inputs", None) or {})
    wanted = [name for name in source.params.get("inputs") or () if name not in overrides]
    missing = [name for name in wanted if name not in held]
    if missing:
        raise ValueError(
            f"the recorded run was started with {', '.join(missing)}, which this record does not hold; "
            f"pass {', '.join(f'{name}=...' for name in missing)} to replay()"
        )
    return {name: held[name] for name in wanted}


def _steps_run(pipe: Any, kwargs: dict[str, Any]) -> int | None:
    """Steps the replay will run, or ``None`` for arguments that ``start`` will refuse anyway."""
    extra = {name: value for name, value in kwargs.items() if name not in _STARTS}
    try:
        return steps_run(pipe, validate.steps(kwargs["num_inference_steps"]), extra)
    except (TypeError, ValueError):
        return None


def _warn_if_different(params: dict[str, Any], family: Family) -> None:
    """Replays on another model or scheduler still run, but cannot give the recorded image."""
    pipe = family.pipe
    config = json.loads(json.dumps(dict(pipe.scheduler.config), default=str))
    recorded = params.get("scheduler_config")
    if params.get("scheduler") != type(pipe.scheduler).__name__ or (recorded is not None and recorded != config):
        warnings.warn(
            f"the run was recorded with {params.get('scheduler')} and a different configuration than this "
            f"pipeline's {type(pipe.scheduler).__name__}; the replay will not match the recorded image",
            stacklevel=3,
        )
    for why in family.differences(params):  # the pipe's own settings (state), as its family records them
        warnings.warn(why, stacklevel=3)
    model = str(getattr(pipe, "name_or_path", None) or "") or None  # recorded as text; a Path loads too
    if params.get("model") != model:
        warnings.warn(
            f"the run was recorded on model {params.get('model')!r}, this pipeline is {model!r}; "
            "the replay will not match the recorded image",
            stacklevel=3,
        )
