"""Frames to the browser off the step path, with acknowledgements and a small in-flight bound.

The step hook only appends to a deque. A thread per run encodes PNGs and sends one custom
message per batch: when the browser falls behind (two messages unacknowledged) frames wait and
go together in the next message, so none is lost and the browser paints only the newest. A
failed send is reported and retried with a growing pause; the thread never dies of it, and a
message given up on stays in ``encoded`` for a view's next ``sync``.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..core import Run, StatusEvent, StepEvent

WINDOW = 2
"""Messages that may be unacknowledged at once."""
ACK_TIMEOUT = 2.0
"""Seconds after which unacknowledged messages count as lost (no view open, page closed)."""
RETRIES = (0.05, 0.2, 0.5, 1.0, 2.0)
"""Pauses before each new try of a failed send; then the message is given up."""


WIRE_LIMIT = 16 << 10
"""A frame over this many bytes as PNG goes as WebP at quality 90 instead. Measured on 128-px
frames of an SD-shaped run (benchmarks/preview_fidelity.py): PNG 23 KB mean, 42 KB worst; WebP
10 KB worst, 4/255 mean difference. Small frames (the demo's 64 px: 6 KB) stay exact."""


def encode(image: Any) -> bytes:
    """A thumbnail (PIL) as the bytes the page shows: PNG, or WebP when the PNG is too big."""
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    if out.tell() <= WIRE_LIMIT:
        return out.getvalue()
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=90)
    return out.getvalue()


def frame_meta(event: StepEvent, sent_at: float | None = None) -> dict[str, Any]:
    return {
        "run": event.run_id, "step": event.step, "total": event.total, "guidance": event.guidance,
        "cfg": event.cfg, "duration": event.duration, "t": sent_at,
    }  # fmt: skip


class FrameSender:
    """Sends one run's frames and status changes; its thread ends after the run's final status
    or ``close``."""

    def __init__(
        self,
        run: Run,
        send: Callable[[dict, list[bytes]], None],
        on_batch: Callable[..., None],
        report: Callable[[str], None],
    ) -> None:
        """``send(message, buffers)`` reaches the browser; ``on_batch(run, step_events, status_or_None)``
        updates the widget's traits from this thread after each message; ``report(text)`` tells
        the user that sending failed, and ``report("")`` that it works again."""
        self.run, self._send, self._on_batch, self._report = run, send, on_batch, report
        self._queue: deque[tuple[StepEvent, float] | StatusEvent] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._last_ack = time.monotonic()
        self._closed = False
        self.encoded: list[bytes] = []
        """Every PNG encoded for the run, in step order, for views that join late."""
        self.thread = threading.Thread(target=self._loop, name=f"sdwidget-frames-{run.id}", daemon=True)
        self.thread.start()

    def push(self, event: StepEvent | StatusEvent) -> None:
        """Called on the runner thread: O(1), no encoding."""
        with self._cond:
            self._queue.append((event, time.time()) if isinstance(event, StepEvent) else event)
            self._cond.notify()

    def ack(self) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._last_ack = time.monotonic()
            self._cond.notify()

    def close(self) -> None:
        """End the thread at once (the widget closed); frames not sent yet are dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _ready(self) -> bool:
        if self._closed or not self._queue:
            return self._closed
        if self._in_flight >= WINDOW and time.monotonic() - self._last_ack > ACK_TIMEOUT:
            self._in_flight = 0
        return self._in_flight < WINDOW or isinstance(self._queue[-1], StatusEvent)

    def _take(self) -> list[tuple[StepEvent, float] | StatusEvent] | None:
        with self._cond:
            while not self._ready():
                self._cond.wait(0.25)
            if self._closed:
                return None
            items = list(self._queue)
            self._queue.clear()
            self._in_flight += 1
            return items

    def _loop(self) -> None:
        done = False
        while not done and (items := self._take()) is not None:
            steps = [item for item in items if isinstance(item, tuple)]
            statuses = [item for item in items if isinstance(item, StatusEvent)]
            status = statuses[-1] if statuses else None
            done = status is not None and status.status.done
            if steps:
                buffers = [encode(event.frame.image()) for event, _ in steps]
                self.encoded.extend(buffers)
                self._deliver({"type": "frames", "frames": [frame_meta(e, t) for e, t in steps]}, buffers)
            else:
                with self._cond:
                    self._in_flight -= 1  # status-only batches travel as trait changes, unacknowledged
            self._guarded(self._on_batch, self.run, [event for event, _ in steps], status)

    def _deliver(self, message: dict, buffers: list[bytes]) -> None:
        for attempt, pause in enumerate((*RETRIES, None)):
            if self._guarded(self._send, message, buffers):
                if attempt:
                    self._guarded(self._report, "")
                return
            if pause is None or self._closed:
                break
            time.sleep(pause)
        self._guarded(self._report, "Sending frames to the browser failed; they are kept: re-run the cell to see them")
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)  # never acked: do not let it block the window

    def _guarded(self, fn: Callable[..., None], *args: Any) -> bool:
        """Run ``fn``; a failure is reported to the user, never fatal to this thread."""
        try:
            fn(*args)
            return True
        except Exception as exc:  # noqa: BLE001
            if fn is not self._report:
                self._guarded(self._report, f"Sending to the browser failed ({type(exc).__name__}: {exc}); retrying")
            return False
