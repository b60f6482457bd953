"""The condition a run's controls wait on when the run is hosted on the kernel's loop (``loop.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loop.py imports this module
    from .loop import LoopHost


class LoopCondition:
    """A ``threading.Condition`` whose waits, inside a hosted run, suspend the run rather than
    block the thread (blocking would stop the very loop that delivers the wake)."""

    def __init__(self, host: LoopHost) -> None:
        self._cond = threading.Condition(threading.Lock())  # not reentrant: released once to suspend
        self._host = host

    def __enter__(self) -> bool:
        return self._cond.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._cond.__exit__(*exc)

    def wait(self, timeout: float | None = None) -> bool:
        if not self._host.inside():
            return self._cond.wait(timeout)
        token = self._host.prepare()
        self._cond.release()
        try:
            return self._host.suspend(token, timeout)
        finally:
            self._cond.acquire()

    def wait_for(self, predicate: Callable[[], bool]) -> bool:
        while not predicate():
            self.wait()
        return True

    def notify_all(self) -> None:
        self._cond.notify_all()
        self._host.wake()
