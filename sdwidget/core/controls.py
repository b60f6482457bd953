"""The one owner of a run's hand controls: requests from any thread, read at the step boundary.

``Run``, ``Runner`` and ``SamplerWidget`` hand pause, resume, single steps, stop, pace, guidance
and prompt edits on to here; what the next step is to run with is ``requests.py``'s half. The
state is one small machine under one condition — running ⇄
paused, either → stopping (final) — so no interleaving of calls from several threads can leave a
stopped run paused. Waits (a pause, a slow pace) sleep on the condition and wake at once when
any control changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from . import validate
from .requests import HandRequests, PromptEdit

__all__ = ["Controls", "PromptEdit"]


class Controls(HandRequests):
    """Pause, single-step, stop, pace, breakpoint, guidance and prompt requests for one run."""

    def __init__(self, pause_at: Iterable[int] = (), pace: float | None = None, cond: Any = None) -> None:
        """``cond``: what waits sleep on, a ``threading.Condition`` by default (a loop-hosted
        run passes one whose waits suspend the run instead, see ``loop.py``)."""
        super().__init__()
        self._cond = cond if cond is not None else threading.Condition()
        self._yields = cond is not None  # a loop-hosted run gives its loop a turn at every step
        self._paused = self._stopping = self._step_once = False
        self._pause_at = set(pause_at)
        self._pace = pace
        self._peek = False

    def pause(self) -> None:
        """Hold at the next step boundary (ignored once stopping)."""
        with self._cond:
            self._paused = not self._stopping
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = self._step_once = False
            self._cond.notify_all()

    def step_once(self) -> None:
        """Paused: run exactly one more step, then hold again. Running: hold at the next boundary."""
        with self._cond:
            if not self._stopping:
                self._step_once, self._paused = self._paused, not self._paused
                self._cond.notify_all()

    def stop(self) -> None:
        """End at the next step boundary, waking a paused or paced run; final."""
        with self._cond:
            self._stopping, self._paused = True, False
            self._cond.notify_all()

    def set_pace(self, steps_per_second: Any) -> float | None:
        """At most this many steps a second (``None``: full speed); the result never changes."""
        pace = None if steps_per_second is None else validate.pace(steps_per_second)
        with self._cond:
            self._pace = pace
            self._cond.notify_all()
        return pace

    def set_breakpoints(self, steps: Iterable[int]) -> None:
        """Hold after each of these step counts (1-based: 10 holds once 10 steps have run)."""
        with self._cond:
            self._pause_at = set(steps)

    @property
    def paused(self) -> bool:
        return self._paused  # one attribute read: whole under the GIL, the lock adds nothing

    @property
    def stopping(self) -> bool:
        return self._stopping

    def hold(self, steps: int) -> bool:
        """At the boundary after ``steps`` steps: pause here if a breakpoint or a single step
        says so; ``True`` when the run is to hold.

        The step boundary reads the usual case, nothing asked, without the lock: a request that
        lands just after the read is taken at the next boundary, as one a moment later would be,
        and each lock taken costs the step callback microseconds of its ~150 µs budget."""
        if not (self._paused or self._step_once) and steps not in self._pause_at:
            return False
        with self._cond:
            if self._step_once or steps in self._pause_at:
                self._step_once, self._paused = False, not self._stopping
            return self._paused

    def wait_until_resumed(self) -> bool:
        """``False`` where a peek (``request_peek``) ends the wait while the run stays held."""
        with self._cond:
            self._cond.wait_for(lambda: not self._paused or self._peek)
            return not (self._paused and self._peek)

    def request_peek(self) -> bool:
        """Held: let the next step's model call go ahead and hold again before its scheduler step,
        so a guidance lens can show that step at any value (``peek.py``); ``False`` if not held."""
        with self._cond:
            if not self._paused or self._stopping:
                return False
            self._peek = True
            self._cond.notify_all()
            return True

    def take_peek(self) -> bool:
        """Whether a peek was asked for (once)."""
        with self._cond:
            peek, self._peek = self._peek, False
            return peek

    def wait_for_pace(self, since: float) -> None:
        """Sleep until ``1/pace`` seconds after ``since`` (``time.perf_counter``), or until a
        pause, a stop or a faster pace cuts the wait short. A loop-hosted run first gives the
        kernel one turn (``wait(0)``), so messages are handled between any two steps; a run on a
        thread with no pace takes no lock at all (a pace set meanwhile applies from the next step)."""
        if not (self._yields or self._pace):
            return  # a waiter on a thread's condition costs ~10 µs a step for nothing
        with self._cond:
            if self._yields:
                self._cond.wait(0)
            while self._pace and not (self._paused or self._stopping):
                left = since + 1.0 / self._pace - time.perf_counter()
                if left <= 0 or not self._cond.wait(left):
                    return
