"""``Runner.start``'s arguments, checked in the caller's thread into a run's params and plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from diffusers.callbacks import PipelineCallback

from ..families import Family
from . import knobs, validate
from .latents import LatentStore
from .outputs import OutputStore
from .params import check_extra, run_params
from .plan import RunPlan
from .schedule import Schedule, resolve, resolve_prompts


@dataclass(frozen=True)
class Budgets:
    """Bytes one run may keep: latents on request, UNet outputs for branching."""

    latents: int
    outputs: int


def prepare(
    family: Family, budgets: Budgets, prompt: Any, negative_prompt: Any, num_inference_steps: Any, guidance_scale: Any,
    seed: Any, height: Any, width: Any, callbacks: Sequence[PipelineCallback], *, guidance_schedule: Schedule | None,
    prompt_schedule: Any, keep_latents: Any, stop_after: Any, pause_at: Iterable[Any], pace: Any,
    pipe_kwargs: dict[str, Any], knob_schedules: Any = None,
) -> tuple[dict[str, Any], RunPlan]:  # fmt: skip
    """(params recorded with the run, plan driving it); ``TypeError``/``ValueError`` on bad input."""
    check_extra(family, callbacks, pipe_kwargs)
    params = run_params(
        family, prompt, negative_prompt, num_inference_steps, guidance_scale, seed, height, width, pipe_kwargs
    )
    steps = params["steps_run"]  # schedules, breakpoints and stops count the steps that really run
    schedule = None if guidance_schedule is None else resolve(guidance_schedule, steps)
    if schedule is not None:
        params["guidance_scale"] = schedule[0]
    params["guidance_schedule"] = schedule
    later = tuple(family.knobs()[1:])
    planned = knobs.plan(later, knob_schedules, steps, pipe_kwargs)
    params["pipe_kwargs"].update({name: values[0] for name, values in planned.items()})
    params["knob_schedules"] = planned or None
    family.check_start(pipe_kwargs, params["guidance_scale"])
    if stop_after is not None:
        stop_after = validate.integer("stop_after", stop_after, 1, steps)
    if not isinstance(keep_latents, bool):
        raise TypeError(f"keep_latents must be True or False, got {type(keep_latents).__name__}")
    if isinstance(pause_at, str | bytes) or not isinstance(pause_at, Iterable):
        raise TypeError(f"pause_at must be a list of step counts, got {type(pause_at).__name__}")
    breakpoints = frozenset(validate.integer("pause_at", step, 1, steps) for step in pause_at)
    plan = RunPlan(
        schedule=schedule,
        knobs=later,
        knob_schedules=planned,
        prompts=resolve_prompts(prompt_schedule or (), steps, params["prompt"]),
        keep=LatentStore(budgets.latents) if keep_latents else None,
        outputs=OutputStore(budgets.outputs),
        stop_after=stop_after,
        pause_at=breakpoints,
        pace=None if pace is None else validate.pace(pace),
        callbacks=list(callbacks),
        pipe_kwargs=pipe_kwargs,
    )
    return params, plan
