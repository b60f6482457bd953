"""A run's driving: waiting for it (and, on the kernel's thread, driving it) and its live controls."""

from __future__ import annotations

import threading
import warnings
from typing import Any

from . import knobs
from .controls import Controls
from .events import RunStatus, StepEvent
from .loop import LoopHost
from .plan import RunPlan

SLICE = 0.05
"""Seconds a cell's ``wait`` drives a kernel-hosted run between looks at whether it is paused."""


class RunDriven:
    """``Run``'s controls and waits (``run.py`` fills in what is declared here). The controls
    may be called from any thread and take effect at the next step boundary; they hand on to
    ``controls``, their owner."""

    id: int
    status: RunStatus
    steps: list[StepEvent]
    plan: RunPlan
    controls: Controls
    _host: LoopHost | None
    _thread: threading.Thread | None

    @property
    def done(self) -> bool:
        return self.status.done

    @property
    def on_kernel(self) -> bool:
        """Whether the run takes turns with the kernel's loop on its thread (``Runner.on_kernel``)
        rather than running in a thread of its own."""
        return self._host is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run's thread has ended; ``False`` if ``timeout`` passed first. A run
        hosted on the kernel's loop is driven by this wait when called on the kernel's thread;
        there, without a timeout, a paused run warns (``RuntimeWarning``) that the wait lasts
        until the cell is interrupted: nothing else on that thread could resume it."""
        if self._host is not None:
            if timeout is None and threading.current_thread() is threading.main_thread() and not self._host.inside():
                return self._drive()
            return self._host.wait(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self.done

    def _drive(self) -> bool:
        """A cell waiting for a kernel-hosted run drives it, in slices. Once the run is paused it
        says so, once: only the kernel's thread, busy in this very wait, would resume it, so the
        wait lasts until the cell is interrupted (Ctrl-C, Interrupt kernel; the run stays paused
        and resumable) or another thread resumes or stops the run."""
        assert self._host is not None
        warned = False
        while not self._host.wait(SLICE):
            if not warned and self.controls.paused and not self.done:
                warned = True
                warnings.warn(
                    f"run {self.id} is paused and runs on the kernel's thread, which this wait holds: nothing in "
                    "this notebook can resume it until the cell is interrupted (Interrupt kernel). Call "
                    "run.resume() or run.stop() first, or wait with a timeout",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return True

    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()

    def stop(self) -> None:
        self.controls.stop()

    def step_once(self) -> None:
        self.controls.step_once()

    def set_pace(self, steps_per_second: Any) -> float | None:
        return self.controls.set_pace(steps_per_second)

    def set_guidance(self, value: Any) -> float:
        """Ask for ``value`` from the next step on; returns the validated value."""
        return self.controls.set_guidance(value)

    def set_knob(self, name: Any, value: Any) -> float:
        """Set the knob ``name`` (one after the guidance, ``Runner.knobs``) to ``value`` from the
        next step on; returns the checked value. ``set_guidance`` sets the first knob."""
        knob = knobs.named(self.plan.knobs, name)
        checked = knobs.value(knob, value)
        self.controls.set_knob(knob.name, checked)
        return checked

    def plan_guidance(self, values: Any) -> dict[int, float]:
        """Set the guidance of later steps (0-based step → value); see ``Controls.plan_guidance``."""
        return self.controls.plan_guidance(values)
