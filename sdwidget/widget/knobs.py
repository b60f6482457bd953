"""The model's knobs in the widget, each checked against its own range under the label a person sees.

The first is the guidance, on its own path (``set_guidance``, ``plan``, ``guidance``, ``applied``);
the later ones (SD's ``guidance_rescale``) go through here: by hand to ``Runner.set_knob``; a curve
dragged over later steps is kept here and handed to the run at each planned step's boundary (at
the step event before it, which the runner sends before the loop takes its knobs), so it lands
exactly there, recorded as a hand request as a planned guidance is; a hand value drops the plan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..core import Runner, StepEvent, validate


def label(knob: Mapping[str, Any]) -> str:
    """The name a person sees of a knob after the guidance: ``Guidance rescale`` for ``guidance_rescale``."""
    return str(knob["name"]).replace("_", " ").capitalize()


def find(knobs: list[dict[str, Any]], name: Any, control: str = "Knob") -> tuple[int, dict[str, Any]]:
    """(index, knob) of the knob called ``name``; ``ValueError`` naming the control and the knobs there are."""
    for index, knob in enumerate(knobs):
        if knob["name"] == name:
            return index, knob
    there = ", ".join(knob["name"] for knob in knobs) or "none"
    raise ValueError(f"{control}: this model has no knob {validate.shown(name)}; its knobs are {there}")


def check(knob: Mapping[str, Any], value: Any, control: str) -> float:
    """``value`` within the knob's own range (whole for a knob that counts steps), or an error naming ``control``."""
    checked = validate.guidance(value, control, knob["low"], knob["high"])
    if knob["kind"] == "steps" and not checked.is_integer():
        raise ValueError(f"{control} must be a whole number of steps, got {checked:g}")
    return checked


class KnobSteering:
    """``SamplerWidget``'s knobs after the guidance: ``set_knob``, ``plan_knob`` and the values a
    run from the browser starts or branches with."""

    knobs: list[dict[str, Any]]
    knob_values: dict[str, float]
    guidance: float
    guidance_kind: str
    _apply: Callable[[dict[str, Any]], None]

    @property
    def _live(self) -> Runner:
        """The widget's runner (``SamplerWidget._live``, which refuses a widget with no pipeline)."""
        raise NotImplementedError

    def _init_knobs(self, runner: Runner | None, guidance_given: bool) -> None:
        """The model's knobs, its own guidance unless one was given, each later knob at its default."""
        if runner is not None:
            self.knobs = runner.knobs
            self.guidance_kind = self.knobs[0]["kind"]
            if not guidance_given:
                self.guidance = self.knobs[0]["default"]  # the model's own: a distilled guidance's is not CFG's
        self._plan_lock = threading.Lock()
        self._plan_run = 0  # the run that _plans belong to
        self._plans: dict[str, dict[int, float]] = {}  # later knob → {0-based step: value} not yet handed over
        self.knob_values = {knob["name"]: float(knob["default"]) for knob in self.knobs[1:]}

    def set_guidance(self, value: Any) -> float:
        """Apply ``value`` to the current run from its next step and show it."""
        value = self._live.set_guidance(value)
        self._apply({"guidance": value})
        return value

    def set_knob(self, name: Any, value: Any) -> float:
        """Set knob ``name`` (any of ``knobs``; the first is the guidance) for the current run from
        its next step and for the next runs, and show it."""
        runner = self._live
        index, knob = find(self.knobs, name)
        if index == 0:
            return self.set_guidance(value)
        value = runner.set_knob(knob["name"], check(knob, value, label(knob)))
        with self._plan_lock:
            self._plans.pop(knob["name"], None)  # a hand value wins over a dragged curve
        self._apply({"knob_values": {**self.knob_values, knob["name"]: value}})
        return value

    def plan_knob(self, name: Any, values: Mapping[int, Any]) -> dict[int, float]:
        """Set knob ``name`` at later steps of the current run (0-based step → value), as dragging
        its curve does; a step already run is refused. The first knob's goes to ``Run.plan_guidance``."""
        run = self._live.run
        if run is None or run.done:
            raise RuntimeError("Guidance curve: no run is going; the curve of the next run is sent with Generate")
        index, knob = find(self.knobs, name, "Guidance curve")
        if index == 0:
            return run.plan_guidance(values)
        control, first = f"{label(knob)} curve", max(len(run.steps), len(run.plan.shared))
        checked = {
            validate.integer(f"{control}: the step", step, first, validate.MAX_LOOP - 1): check(knob, value, control)
            for step, value in values.items()
        }  # fmt: skip
        with self._plan_lock:
            if self._plan_run != run.id:
                self._plan_run, self._plans = run.id, {}
            self._plans.setdefault(knob["name"], {}).update(checked)
            now = self._plans[knob["name"]].pop(first, None)
        if now is not None:  # the next step's boundary is the one the run waits at (or nears): now
            run.set_knob(knob["name"], now)
        return checked

    def _hand_planned(self, event: Any) -> None:
        """On the runner thread, at a step's event: the values planned for the next step."""
        if not self._plans or not isinstance(event, StepEvent):
            return
        step, run = event.step + 1, event.run
        if run.id != self._plan_run or step < len(run.plan.shared):
            return
        with self._plan_lock:
            due = {name: plan.pop(step) for name, plan in self._plans.items() if step in plan}
            for plan in self._plans.values():
                for old in [k for k in plan if k < step]:
                    del plan[old]
        for name, value in due.items():
            run.set_knob(name, value)

    def _later(self, given: Mapping[str, Any] | None, control: str, each: Callable[[dict, Any], Any]) -> dict:
        """Later knobs named by the browser (a Branch's values, a Generate's curves), ``each`` checked."""
        out = {}
        for name, value in (given or {}).items():
            index, knob = find(self.knobs, name, control)
            if index == 0:
                raise ValueError(f"{control}: the guidance goes as Guidance, not as {validate.shown(name)}")
            out[knob["name"]] = each(knob, value)
        return out

    def _knob_changes(self, given: Mapping[str, Any] | None, control: str) -> dict[str, float]:
        return self._later(given, control, lambda knob, value: check(knob, value, label(knob)))

    def _knob_schedules(self, given: Mapping[str, list] | None) -> dict[str, list[float]]:
        return self._later(given, "Guidance curve", lambda k, vs: [check(k, v, f"{label(k)} curve") for v in vs])

    def _asked_knobs(self) -> dict[str, float]:
        """The later knobs' values asked for in the widget that differ from the model's defaults:
        what a run from the widget starts with (a default is left out, so records stay as they were)."""
        defaults = {knob["name"]: knob["default"] for knob in self.knobs[1:]}
        return {name: v for name, v in self.knob_values.items() if name in defaults and v != defaults[name]}
