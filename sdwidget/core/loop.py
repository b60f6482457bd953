"""A run on the kernel's own thread: a greenlet that takes turns with the running asyncio loop.

Why: torch's CPU thread pool belongs to the thread that first drove it, in a notebook the
kernel's main thread. A run on another thread makes OpenMP start a second team whose workers
wake slowly (pytorch/pytorch#37259): an SD-shaped model ran 1.64× slower than the bare pipeline.
Here the pipeline runs on the main thread itself, inside a greenlet. At every step boundary the
run hands the thread back to the event loop for one turn (or for the pace's wait, or until a
control wakes a pause), so widget messages are handled and cells can run between steps; a loop
callback then switches back into the run.

What a user gives up: while a cell executes, the run waits for it (the thread is the cell's). A
cell that waits for the run (``run.wait()``) drives it to the end; widget messages that arrive
meanwhile are handled after the cell, as for any busy cell.

Torch's thread-local state is swapped at every switch (``torch_state.py``); controls wait in ``loop_condition.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import greenlet

from .torch_state import set_torch_state, torch_state

POLL = 0.01
"""Seconds between looks at the run while a waiting cell drives a paused or paced run."""
BUSY_TURNS = 12
"""Turns a step boundary hands the loop at most while it has other work ready (a widget message: about four)."""


def _has_work(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether callbacks besides the run's own are ready to run (asyncio's ready queue; a loop
    that keeps none, as uvloop, counts as idle and gets one turn a step, as before)."""
    return bool(getattr(loop, "_ready", ()))


class LoopHost:
    """Runs one piece of work as a greenlet on ``loop``'s thread, switching at ``suspend``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.finished = threading.Event()
        self._run: greenlet.greenlet | None = None
        self._work: Callable[[], None] = lambda: None
        self._token = 0  # which suspension a resume is for: stale timers and wakes are ignored
        self._due: float | None = None  # when the current suspension ends by itself (None: on a wake)
        self._woken = -1  # the token of the suspension a wake was for
        self._outer = torch_state()

    @staticmethod
    def main_loop() -> asyncio.AbstractEventLoop | None:
        """The asyncio loop running on the calling thread if that is the main thread, else ``None``."""
        if threading.current_thread() is not threading.main_thread():
            return None
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def start(self, work: Callable[[], None]) -> None:
        """Run ``work`` from the loop's next turn, whichever thread asks (JupyterLab may route
        widget messages to a subshell's thread); never inside the caller, which may hold locks."""
        self._work = work
        self._token += 1
        self._due = time.perf_counter()
        self.loop.call_soon_threadsafe(self._resume, self._token)

    def _body(self) -> None:
        try:
            self._work()
        finally:
            self.finished.set()
            set_torch_state(self._outer)

    def inside(self) -> bool:
        return self._run is not None and greenlet.getcurrent() is self._run

    def prepare(self) -> int:
        """Start a suspension (under the waiter's lock, so no wake between it and ``suspend`` is lost)."""
        self._token += 1
        return self._token

    def suspend(self, token: int, timeout: float | None) -> bool:
        """From inside the run: give the thread to the loop until ``timeout`` seconds pass
        (``None``: until ``wake``); ``0`` is one turn of the loop. ``True`` if woken."""
        assert self._run is not None and self.inside()
        inner = torch_state()
        self._due = None if timeout is None else time.perf_counter() + max(timeout, 0.0)
        if timeout is not None and not self.loop.is_closed():  # a closed loop: only wait() drives the run
            self.loop.call_later(max(timeout, 0.0), self._resume, token)
        set_torch_state(self._outer)
        parent = self._run.parent
        assert parent is not None
        parent.switch()
        set_torch_state(inner)
        return self._woken == token

    def wake(self) -> None:
        """From any thread: end the current suspension now (a control changed)."""
        token = self._token
        self._woken = token
        if not self.finished.is_set() and not self.loop.is_closed():  # closed: wait() sees _woken
            self.loop.call_soon_threadsafe(self._resume, token)

    def _resume(self, token: int, turns: int = 0) -> None:
        if token != self._token or self.finished.is_set() or self.inside():
            return
        # A message from the browser takes the loop several turns (socket, parsing, handler,
        # reply); a run that came back after one turn would hold a click until some steps later.
        # So while the loop has other work ready, it gets more turns: a count, not a time, so a
        # task that is always ready (a polling coroutine) costs a few turns a step, not a wait.
        if _has_work(self.loop) and turns < BUSY_TURNS:
            self.loop.call_soon(self._resume, token, turns + 1)
            return
        self._enter(token)

    def _enter(self, token: int) -> None:
        """Switch into the run, from the loop or from a cell that drives it (``wait``)."""
        if token != self._token or self.finished.is_set() or self.inside():
            return
        if self._run is None:  # made here, on the loop's thread: a greenlet cannot switch threads
            self._run = greenlet.greenlet(self._body)
        self._token += 1
        self._outer = torch_state()
        self._run.parent = greenlet.getcurrent()  # the run comes back here, at its next suspension or its end
        self._run.switch()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the work has ended; ``False`` if ``timeout`` passed first. On the loop's own
        thread (a cell waiting) the loop cannot turn, so this drives the run itself."""
        if self.inside():
            raise RuntimeError("a run cannot wait for itself (from its own observer or callback)")
        if threading.current_thread() is not threading.main_thread():
            return self.finished.wait(timeout)
        deadline = None if timeout is None else time.perf_counter() + timeout
        while not self.finished.is_set():
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                return False
            token = self._token
            if self._woken == token or (self._due is not None and now >= self._due):
                self._enter(token)
            else:
                time.sleep(POLL if self._due is None else min(POLL, self._due - now))
        return True
