"""What a runner steers: its current run, live, from any thread (``Runner``'s controls)."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import Any

from ..families import Family
from . import guider_swap, knobs, prompt_rows, validate
from . import interval as intervals
from .controls import PromptEdit
from .run import Run


class RunnerSteers:
    """The current run's controls, from any thread: pause, stop, pace, prompt, guidance, its
    interval, the guider and the knobs. A value is checked even with no run going."""

    family: Family
    run: Run | None
    pace: float | None
    _lock: threading.Lock
    _held: weakref.WeakKeyDictionary[Run, intervals.Held]

    @property
    def knobs(self) -> list[dict[str, Any]]:
        """What a person steers on this pipeline, as plain values (``sdwidget.families.Knob``)."""
        return [dataclasses.asdict(knob) for knob in self.family.knobs()]

    def pause(self) -> None:
        """Pause the current run at its next step boundary."""
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        """Let the current run go on from its pause."""
        if self.run is not None:
            self.run.resume()

    def stop(self) -> None:
        """Stop the current run at its next step boundary; a stopped run keeps its partial image."""
        if self.run is not None:
            self.run.stop()

    def step_once(self) -> None:
        """Paused: run exactly one more step and hold again."""
        if self.run is not None:
            self.run.step_once()

    def set_pace(self, steps_per_second: Any) -> float | None:
        """At most this many steps a second for the current run and the next ones (``None``: full
        speed). The wait sleeps at the step boundary; pause and stop cut it short; results are the same."""
        self.pace = None if steps_per_second is None else validate.pace(steps_per_second)
        if self.run is not None and not self.run.done:
            self.run.set_pace(self.pace)
        return self.pace

    def set_prompt(self, prompt: Any, negative_prompt: Any = None) -> None:
        """Condition the current run on ``prompt`` (and ``negative_prompt``, if given) from its
        next step: one string for every image or, for a run started with a list of prompts, a
        list with one per prompt (each prompt's images take its own). Encoded here, on the
        caller's thread: the step boundary only swaps tensors."""
        run = self.run
        if run is None or run.done:  # a bad value is named first, even with no run
            validate.prompts("prompt", prompt)
            validate.prompts("negative_prompt", negative_prompt, optional=True)
            raise RuntimeError("no run is going: give the prompt to start() instead")
        started = run.params["prompt"]
        rows = len(started) if isinstance(started, list) else None
        prompt, negative_prompt = prompt_rows.prompt_edit(prompt, negative_prompt, rows)
        embeddings = self.family.encode(prompt, negative_prompt, run.plan.pipe_kwargs)
        run.controls.set_prompt(PromptEdit(prompt, negative_prompt, embeddings))

    def set_guidance(self, value: Any) -> float:
        """Apply ``value`` to the current run from its next step (validated even with no run); in
        a run with a guidance interval, from its next step in the interval (off outside it)."""
        run = self.run
        if run is None or run.done:
            return validate.guidance(value)
        held = self._held.get(run)
        return run.set_guidance(value) if held is None else held.set_guidance(run, value)

    def set_guidance_interval(self, first: Any, end: Any) -> tuple[int, int]:
        """Guidance only at the 0-based steps ``first`` to ``end - 1`` of the current run, off
        elsewhere, from its next step on (``start``'s ``guidance_interval``; ``0, steps``: every
        step). The guidance asked for comes back where the interval grows. Checked even with no run."""
        interval, run, guider = intervals.check((first, end)), self.run, intervals.on_guider(self.family)
        off = None if guider else intervals.off_value(self.family)
        if run is None or run.done:
            raise RuntimeError("no run is going: give guidance_interval to start() instead")
        steps = run.params["steps_run"]
        interval = intervals.check(interval, steps)
        if off is None:
            for name, step in zip(intervals.GUIDER, interval, strict=True):
                run.set_knob(name, intervals.fraction(step, steps))
        else:
            held = self._held.setdefault(run, intervals.Held.of(run, interval, off))
            held.interval = interval
            held.live(run, 2)
        run.params["guidance_interval"] = list(interval)
        return interval

    def set_guider(self, guider: Any, **config: Any) -> list[dict[str, Any]]:
        """Swap the pipeline's guider for the next runs (a modular pipeline's ``guider``): a
        ``diffusers.guiders`` guider, or a class name (``guider_swap.choices``) built with ``config``.
        Returns the new ``knobs``. Refused while a run goes, with the reason (``core/guider_swap.py``)."""
        with self._lock:  # no run starts between the check and the swap
            guider_swap.swap(self.family, self.run, guider, config)
        return self.knobs

    def set_knob(self, name: Any, value: Any) -> float:
        """Set a knob after the guidance (``knobs[1:]``, by name) for the current run from its next
        step; checked even with no run. ``set_guidance`` sets the first knob."""
        run = self.run
        if run is None or run.done:
            return knobs.value(knobs.named(self.family.knobs()[1:], name), value)
        return run.set_knob(name, value)
