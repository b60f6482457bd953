"""The guidance lens's state in traits: the mode the page set (``lens``) and how much guidance
changed the picture at each step of each run (``effects``), which a reloaded page redraws from;
and the checks of the lens's messages."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from ..core import Run, RunStatus, StatusEvent, StepEvent, validate
from ..core.paid_lens import PaidOffer

KINDS = {"lens": frozenset({"run", "step", "guidance", "id", "paid", "quick", "local", "recipe"}),
         "views": frozenset({"run", "step", "id"}), "lens_mode": frozenset({"what_if", "views"})}  # fmt: skip
"""The messages of the lens and the fields each takes."""
BUSY = 0.2
"""The share of the frame sender's time the effect per step may take while a run goes."""


def arguments(kind: str, content: dict[str, Any], run_range: tuple[int, int]) -> dict[str, Any]:
    """The checked fields of a lens message (``messages.parse`` has checked which fields it has)."""
    if kind == "lens_mode":
        for name, label in (("what_if", "What if"), ("views", "Three views")):
            if content.get(name) is not None and not isinstance(content[name], bool):
                raise TypeError(f"{label} must be on or off (true or false), got {validate.shown(content[name])}")
        return {name: content[name] for name in ("what_if", "views") if content.get(name) is not None}
    args: dict[str, Any] = {
        "run": validate.integer("Guidance lens: the run", content.get("run"), *run_range),
        "step": validate.integer("Guidance lens: the step", content.get("step"), 0, validate.MAX_LOOP),
        "id": validate.integer("Guidance lens: the request", content.get("id"), 0, 2**31 - 1),
    }
    if kind == "lens":
        args["guidance"] = validate.guidance(content.get("guidance"), "Guidance")
        # paid: Preview pressed (the model call a lens there needs); quick: the slider is moving;
        # local: the step's affine part is asked too, for the page to draw (lens_local.py).
        for name, label in (("paid", "Preview must be pressed or not"), ("quick", "A quick preview is asked or not"),
                            ("local", "The page's own lens is asked or not")):  # fmt: skip
            if content.get(name) is not None:
                if not isinstance(content[name], bool):
                    raise TypeError(f"{label} (true or false), got {validate.shown(content[name])}")
                args[name] = content[name]
        if content.get("recipe") is not None:  # the key of the recipe the page holds (lens_local.py)
            recipe = content["recipe"]
            if not isinstance(recipe, str) or len(recipe) > 64:
                raise TypeError(f"The page's recipe key must be a short text, got {validate.shown(recipe)}")
            args["recipe"] = recipe
    return args


def offer(exc: PaidOffer, step: int) -> str:
    """A paid lens's offer as the page says it: the same for every step and value of a distilled
    guidance; for a step run with CFG off, once for that step."""
    calls = "one model call" if exc.calls == 1 else f"{exc.calls} model calls"
    if exc.per == "step":
        reason = one_based(exc.reason, step)
        return f"{reason[:1].upper()}{reason[1:]}. Preview computes it: {calls}, then every value at this step is free"
    return f"no free guidance lens: {exc.reason}; a preview costs {calls} per value (Preview)"


def one_based(text: str, step: int) -> str:
    """The kernel's reason, naming the step as the page does: the engine counts steps from 0."""
    return re.sub(rf"\bstep {step}\b", f"step {step + 1}", text)


class LensState:
    """``SamplerWidget``'s lens mode and effect per step, kept in its traits."""

    lens: dict[str, Any]
    effects: dict[str, Any]
    _apply: Callable[[dict[str, Any]], None]

    def _init_lens(self) -> None:
        self._lens_lock = threading.Lock()
        self._waiting: dict[tuple[int, str], Callable[[], None]] = {}  # (run, kind) → the answer a peek awaits
        self._effect_due = (0, 0.0)  # (run, monotonic time) before which its effect is not recomputed

    def _lens_mode(self, **mode: bool) -> None:
        with self._lens_lock:
            self._apply({"lens": {**self.lens, **mode}})

    def _lens_after(self, run: Run, steps: list[StepEvent], status: StatusEvent | None, runs: list[dict]) -> dict:
        """Traits after a batch of ``run``'s events (on its frame sender's thread): the held preview
        ends once the run goes on; the effect per step is recomputed, at a hold or the end, and
        while the run goes in at most ``BUSY`` of this thread's time (``Run.guidance_effect``)."""
        state: dict[str, Any] = {}
        with self._lens_lock:
            held = self.lens.get("held")
            if held and held["run"] == run.id and (steps or (status and status.status is not RunStatus.PAUSED)):
                state["lens"] = {key: value for key, value in self.lens.items() if key != "held"}
        now = time.monotonic()
        settled = status is not None and (status.status is RunStatus.PAUSED or status.status.done)
        if not (settled or (steps and (self._effect_due[0] != run.id or now >= self._effect_due[1]))):
            return state
        # A recorded step's effect never changes: only the steps recorded since are computed.
        known = list(self.effects.get(str(run.id), {}).get("values", []))[: len(run.steps)]
        values = known + [None if v is None or not math.isfinite(v) else v for v in run.guidance_effect(len(known))]
        self._effect_due = (run.id, now + (time.monotonic() - now) * (1 - BUSY) / BUSY)
        keep = {str(entry["key"]) for entry in runs} | {str(run.id)}
        entry = {"values": values, "note": self._no_lens(run, values)}
        state["effects"] = {key: v for key, v in self.effects.items() if key in keep} | {str(run.id): entry}
        return state

    @staticmethod
    def _no_lens(run: Run, values: list[float | None]) -> str:
        """Why a step has no effect value, in words (the first such step's reason); empty if all have one."""
        if None not in values:
            return ""
        step = values.index(None)
        try:
            run.lens(step, run.steps[step].guidance)
        except PaidOffer as exc:
            return offer(exc, step)
        except ValueError as exc:
            return one_based(str(exc), step)
        return ""
