"""What a batch of a run's events changes in the widget's traits."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from ..core import Run, StatusEvent, StepEvent
from . import interval


def speed(durations: Iterable[float]) -> float:
    """Steps per second of working time: each step's ``duration`` excludes the time spent paused,
    so a run paused for a minute keeps the speed it ran at."""
    count, busy = 0, 0.0
    for duration in durations:
        count, busy = count + 1, busy + max(0.0, float(duration))
    return count / busy if busy > 0 else 0.0


def rate(elapsed: list[float]) -> float:
    """Steps per second happening: one over the median time between the last few step ends
    (``StepEvent.elapsed``, paused time included), so a pause or one slow step does not count."""
    last = elapsed[-9:]
    gaps = sorted(b - a for a, b in zip(last, last[1:], strict=False) if b > a)
    return 1.0 / gaps[len(gaps) // 2] if gaps else 0.0


def next_guidance(params: dict[str, Any]) -> float:
    """The guidance the run's first own step uses: a branch's value after the steps it shares with
    its parent (its ``guidance_scale`` is the parent's first value), else its ``guidance_scale``;
    a run with a guidance interval, the value asked for inside it (its curve starts off)."""
    held = interval.asked(params)
    if held is not None:
        return held
    schedule, shared = params.get("guidance_schedule"), params.get("branch_step") or 0
    if shared and isinstance(schedule, list | tuple) and shared < len(schedule):
        return float(schedule[shared])
    return params["guidance_scale"]


def starting(run: Run) -> dict[str, float]:
    """The value of each later knob at the run's first own step: a branch's after the steps it
    shares with its parent, else its schedule's first, its pipeline argument or the default."""
    p = run.params
    shared, schedules = p.get("branch_step") or 0, p.get("knob_schedules") or {}
    out = {}
    for knob in run.plan.knobs:
        schedule = schedules.get(knob.name) or []
        given = (p.get("pipe_kwargs") or {}).get(knob.name, knob.default)
        out[knob.name] = float(schedule[shared] if shared < len(schedule) else given)
    return out


def knob_curves(record: Any, steps: list[Any] | None = None) -> dict[str, list[float]]:
    """Each later knob's value per recorded step of a run (over ``steps``, a consistent snapshot)
    or a loaded gallery."""
    if not isinstance(record, Run):
        return {name: list(values) for name, values in record.knob_curves.items()}
    events = list(record.steps) if steps is None else steps
    return {knob.name: [event.knobs[knob.name] for event in events] for knob in record.plan.knobs}


def batch_state(
    run: Run, steps: list[StepEvent], status: StatusEvent | None, shown_id: int, applied: list[float],
    knob_applied: dict[str, list[float]] | None = None,
) -> dict:  # fmt: skip
    """Trait values after ``steps`` and ``status``; a run other than ``shown_id`` resets the view
    (the later knobs' values asked for become the run's own, as the guidance does)."""
    state: dict[str, Any] = {}
    if run.id != shown_id:
        state.update(knob_applied={}, knob_values=starting(run))
    if run.id != shown_id:
        p = run.params
        # A seed drawn because none was asked for stays out of the form: the next run draws anew.
        # (``seed_random`` is recorded by the run's parameters where the core provides it.)
        # A batch's seed list (``seed=[...]``) shows its first: the form's next run makes one image.
        seed = None if p.get("seed_random") else p["seed"][0] if isinstance(p["seed"], list) else p["seed"]
        state.update(run_id=run.id, step=0, total=p["num_inference_steps"], applied=[], its=0.0, error="",
                     image=b"", prompt=p["prompt"], negative_prompt=p["negative_prompt"] or "", seed=seed,
                     steps=p["num_inference_steps"], guidance=next_guidance(p), rate=0.0, edits=[])  # fmt: skip
    if steps:
        last = steps[-1]
        applied = [*state.get("applied", applied), *(s.guidance for s in steps)]
        state.update(step=last.step + 1, total=last.total, applied=applied)
        before = state.get("knob_applied", knob_applied or {})
        if run.plan.knobs:  # a new dict: traitlets syncs a trait that was assigned, not one changed in place
            state["knob_applied"] = {k.name: [*before.get(k.name, []), *(s.knobs[k.name] for s in steps)]
                                     for k in run.plan.knobs}  # fmt: skip
        # run.steps holds every step recorded so far (this batch's included), in order.
        state["its"] = speed(s.duration for s in run.steps[: last.step + 1])
        state["rate"] = rate([s.elapsed for s in run.steps[: last.step + 1]])
    state["edits"] = [dict(change) for change in run.prompts]
    if status is not None:
        state.update(status=status.status.value, error=status.error or "")
        if status.status.done and run.image is not None:
            out = io.BytesIO()
            run.image.save(out, format="PNG")
            state["image"] = out.getvalue()
    return state
