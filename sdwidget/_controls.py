"""Requests made from any thread and read by the step hook at the next step boundary."""

from __future__ import annotations

import threading


class Controls:
    """Pause, stop and guidance requests for one run.

    Pausing clears an event the hook waits on, so a paused run sleeps in the kernel's wait
    rather than polling; stopping sets it again so a paused run wakes up to end.
    """

    def __init__(self) -> None:
        self._go = threading.Event()
        self._go.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._guidance: float | None = None

    def pause(self) -> None:
        if not self._stop.is_set():
            self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()

    def set_guidance(self, value: float) -> None:
        with self._lock:
            self._guidance = value

    def take_guidance(self) -> float | None:
        """The newest requested guidance, once; ``None`` when nothing new was asked for."""
        with self._lock:
            value, self._guidance = self._guidance, None
            return value

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_until_resumed(self) -> None:
        self._go.wait()
