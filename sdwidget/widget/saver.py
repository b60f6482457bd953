"""Save gallery from the browser, written on a thread of its own.

A save of a long run takes seconds (one PNG per step, GIF, WebP, MP4). Done in the kernel's
message handler, it would hold back the browser's acks for that long and stall a run's live
frames; here the handler only checks the request and starts the write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .history import History


class BackgroundSave:
    """One save at a time; its outcome travels as state (``saving``, ``saved``, ``message``)."""

    def __init__(self, history: History, apply: Callable[[dict[str, Any]], None]) -> None:
        """``apply(traits)`` sets the widget's traits from this module's thread."""
        self._history = history
        self._apply = apply
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, key: int, folder: str | Path) -> None:
        """Refuse an unknown run or a second save at once (``ValueError``/``RuntimeError``)."""
        self._history[key]
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError("a gallery is still being saved; save again when it is done")
            self._thread = threading.Thread(target=self._write, args=(key, folder), name="sdwidget-save", daemon=True)
            self._apply({"saving": True})
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the save in progress, if any, has been written or has failed."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _write(self, key: int, folder: str | Path) -> None:
        # Nothing may escape this thread: a failure is shown in the widget like a refused input.
        try:
            path = self._history.save(key, folder)
        except Exception as exc:  # noqa: BLE001
            self._apply({"saving": False, "message": f"Save gallery failed: {type(exc).__name__}: {exc}"})
        else:
            self._apply({"saving": False, "saved": path.name, "runs": self._history.entries()})
