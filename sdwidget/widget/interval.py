"""The guidance interval in the widget: the two handles on the guidance curve, through the
``guidance_interval`` trait (``[first, end]``, 0-based steps, ``end`` not included; empty: every step).

A move of the handles (the ``interval`` message) goes to the running run from its next step
(``Runner.set_guidance_interval``), or is kept for the next run from the browser, which Generate
starts with it (``start(guidance_interval=...)``, cut to the steps asked for). On a modular
pipeline's guider the interval is its ``start`` and ``stop`` knobs, so the next run's goes into
their asked values, as fractions of the form's steps. The trait follows the current run (its
``params["guidance_interval"]``), so a reloaded page draws the handles where they were, and an
interval moved from Python (``Runner.set_guidance_interval``) shows at the run's next event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..core import Run
from ..core import interval as intervals

if TYPE_CHECKING:
    from .widget import SamplerWidget

CONTROL = "Guidance interval"


def move(widget: SamplerWidget, first: int | None, end: int | None) -> None:
    """The handles moved to ``[first, end)`` (``None``: every step), checked by the runner."""
    runner = widget._live
    run, guider = runner.run, intervals.on_guider(runner.family)
    try:
        if not guider:
            intervals.off_value(runner.family)  # a guidance with no off value is refused, run or none
        if run is not None and not run.done:
            steps = run.params["steps_run"]
            shown = list(runner.set_guidance_interval(*((0, steps) if first is None else (first, end))))
        elif first is None or end is None:
            shown = []
            if guider:  # every step: the guider starts at none of them and stops after the last
                widget._apply({"knob_values": {**widget.knob_values, "start": 0.0, "stop": 1.0}})
        else:
            shown = list(intervals.check((first, end)))
            if guider:  # the next run's guider starts and stops at these shares of the form's steps
                steps = max(widget.steps, end)
                widget._apply({"knob_values": {**widget.knob_values, **_fractions(shown, steps)}})
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{CONTROL}: {exc}") from None
    if guider and run is not None and not run.done:
        widget._apply({"knob_values": {**widget.knob_values, **_fractions(shown, run.params["steps_run"])}})
    widget._apply({"guidance_interval": shown})


def for_generate(widget: SamplerWidget, steps: int) -> dict[str, Any]:
    """What a run from the browser starts with: the kept interval, cut to its ``steps`` (a
    modular guider's is in its knobs' asked values already)."""
    kept = widget.guidance_interval
    if len(kept) != 2 or widget.runner is None or intervals.on_guider(widget.runner.family):
        return {}
    first = min(kept[0], steps - 1)
    return {"guidance_interval": (first, max(first + 1, min(kept[1], steps)))}


def of_run(widget: SamplerWidget, run_id: int) -> list[int] | None:
    """The interval run ``run_id`` records, for the trait when it becomes the current run."""
    run = None if widget.runner is None else widget.runner.run
    if run is None or run.id != run_id:
        return None
    return list(run.params.get("guidance_interval") or [])


def recorded(params: dict[str, Any]) -> list[int] | None:
    """A record's guidance interval, ``[first, end]`` (``None``: every step), where it is one of its
    steps: a loaded gallery's comes from a file."""
    try:
        found = intervals.check(params["guidance_interval"], params.get("steps_run") or params["num_inference_steps"])
    except (KeyError, TypeError, ValueError):
        return None
    return list(found)


def _fractions(interval: list[int], steps: int) -> dict[str, float]:
    return {name: intervals.fraction(step, steps) for name, step in zip(intervals.GUIDER, interval, strict=True)}


def asked(params: dict[str, Any]) -> float | None:
    """The guidance a run with an interval asks for where the interval applies (its curve at its
    first own step in it), which the slider shows rather than the off value the run starts at;
    ``None`` where the curve is not shaped by an interval (none, or a guider's own)."""
    interval, curve = params.get("guidance_interval"), params.get("guidance_schedule")
    if not interval or not curve:
        return None
    return float(curve[min(max(interval[0], params.get("branch_step") or 0), interval[1] - 1)])


class GuidanceInterval:
    """``SamplerWidget``'s guidance interval from Python, and its trait following the current run."""

    guidance_interval: list[int]
    runner: Any
    _interval_seen: tuple[int, list[int]] = (0, [])  # (run, its interval) the trait last took from a run

    def set_guidance_interval(self, first: int | None, end: int | None) -> list[int]:
        """Guidance only at the 0-based steps ``first`` to ``end - 1`` (``None, None``: every step),
        as the handles set it: the running run's from its next step, else the next run's. Returns
        the trait's new value."""
        move(cast("SamplerWidget", self), first, end)
        return list(self.guidance_interval)

    def _interval_followed(self, run: Run) -> dict[str, Any]:
        """The current run's interval for the trait, where it moved since the trait last took it
        from the run (``Runner.set_guidance_interval`` from Python); nothing otherwise, so the handles
        moved for the next run once this one has ended stay where they were put."""
        now = list(run.params.get("guidance_interval") or [])
        if self.runner is None or self.runner.run is not run or self._interval_seen == (run.id, now):
            return {}
        self._interval_seen = (run.id, now)
        return {"guidance_interval": now}
