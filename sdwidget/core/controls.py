"""The one owner of a run's hand controls: requests from any thread, read at the step boundary.

``Run``, ``Runner`` and ``SamplerWidget`` hand pause, resume, stop and guidance on to here. The
state is one small machine under one condition — running ⇄ paused, either → stopping (final) —
so no interleaving of calls from several threads can leave a stopped run paused.
"""

from __future__ import annotations

import threading
from typing import Any

from . import validate


class Controls:
    """Pause, stop and guidance requests for one run.

    A paused run sleeps on the condition rather than polling; stopping wakes it to end.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopping = False
        self._guidance: float | None = None
        self._recorded = 0
        self.requests: list[tuple[int, float]] = []
        """Guidance asked for by hand: (steps recorded at the time, value)."""

    def pause(self) -> None:
        """Hold at the next step boundary (ignored once stopping)."""
        with self._cond:
            self._paused = not self._stopping

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """End at the next step boundary, waking a paused run; final."""
        with self._cond:
            self._stopping, self._paused = True, False
            self._cond.notify_all()

    def set_guidance(self, value: Any) -> float:
        """Validate ``value`` and ask for it from the next step on; returns the validated value."""
        value = validate.guidance(value)
        with self._cond:
            self._guidance = value
            self.requests.append((self._recorded, value))
        return value

    def recorded(self, steps: int) -> None:
        """The run has recorded ``steps`` steps (requests are stamped with it)."""
        with self._cond:
            self._recorded = steps

    def take_guidance(self) -> float | None:
        """The newest requested guidance, once; ``None`` when nothing new was asked for."""
        with self._cond:
            value, self._guidance = self._guidance, None
            return value

    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused

    @property
    def stopping(self) -> bool:
        with self._cond:
            return self._stopping

    def wait_until_resumed(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._paused)
