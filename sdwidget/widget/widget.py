"""SamplerWidget: the control panel in the notebook, one observer of a Runner."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import Run, Runner, StatusEvent, StepEvent, validate
from ..core.flow import guidance_kind
from ..gallery import Gallery
from . import dispatch, messages
from .history import History
from .saver import BackgroundSave
from .sender import FrameSender
from .state import batch_state
from .sweeps import Sweep
from .traits import WidgetState


class SamplerWidget(WidgetState):
    """Generate, watch, pause, stop, steer guidance and scrub steps of a diffusers pipeline.

    Developer notes: the browser sends small JSON messages (generate, pause, resume, stop,
    guidance, ack, sync, frames, save), each validated by ``messages.parse`` before it reaches
    the runner; a refusal lands in ``message`` and the run goes on. The runner calls
    ``_on_event`` on its thread with events that carry their run; it only queues. A
    ``FrameSender`` thread per run encodes each step's thumbnail as PNG, sends it as a binary
    buffer in a custom message, waits for the browser's ack (two messages in flight at most) and
    updates the traits. Traits carry state, never frames, so a saved notebook stays small; a view
    that opens late asks for the run's frames with ``sync``, and one browsing the history asks for
    any run's or gallery's frames with ``frames``. A save from the browser is written on a thread
    of its own (``saver``). A sweep added with ``add_sweep`` is read by ``sweeps`` (the kernel keeps
    the folder); the browser asks for its grid image with ``sweep_grid`` and names a clicked item
    by number with ``sweep_item``. Every kernel→browser state change is a trait assignment made by
    ``_apply`` (under ``hold_sync``, one lock for all threads), which ipywidgets sends as an
    ``update`` message to every front end.
    """

    def __init__(self, pipe_or_runner: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner: Runner | None = None if pipe_or_runner is None else (
            pipe_or_runner if isinstance(pipe_or_runner, Runner) else Runner(pipe_or_runner)
        )  # fmt: skip
        self._sync_lock = threading.RLock()
        self._senders: dict[int, FrameSender] = {}
        self._current: FrameSender | None = None
        self._history = History(self.runner.history.maxlen or 0 if self.runner else 0)
        self._saver = BackgroundSave(self._history, self._apply)
        self._unobserve: Callable[[], None] | None = None
        self._send_report = ""
        self._sweep: Sweep | None = None
        if self.runner is not None:
            self.has_model = True
            self.guidance_kind = guidance_kind(self.runner.pipe)
            self._unobserve = self.runner.observe(self._on_event)
        self.on_msg(self._on_message)

    def close(self) -> None:
        """Stop listening to the runner, end this widget's sender threads and close the browser
        side; the runner and its runs stay, and the widget can be garbage-collected."""
        if self._unobserve is not None:
            self._unobserve()
            self._unobserve = None
        for sender in list(self._senders.values()):
            sender.close()
        self._senders.clear()
        self._current = None
        super().close()

    @property
    def _live(self) -> Runner:
        if self.runner is None:
            raise RuntimeError("no pipeline in this widget: create it with SamplerWidget(pipe) to generate")
        return self.runner

    def _apply(self, state: dict[str, Any]) -> None:
        """Assign traits from any thread; one lock, so two threads never interleave a sync."""
        with self._sync_lock, self.hold_sync():
            for name, value in state.items():
                setattr(self, name, value)

    def add_gallery(self, gallery: Gallery | str | os.PathLike) -> Gallery:
        """Show a gallery (or the folder of one) in the history and view it; no model needed."""
        try:
            gallery = gallery if isinstance(gallery, Gallery) else Gallery.load(gallery)
            key = self._history.add_gallery(gallery)
        except (OSError, ValueError) as exc:
            self._apply({"message": f"Could not add the gallery: {exc}"})
            raise
        self._apply({"runs": self._history.entries(), "view": key, "message": ""})
        return gallery

    def add_sweep(self, folder: str | os.PathLike) -> None:
        """Show the grid of a sweep's ``--out`` folder under the run (no model needed to look);
        clicking an image shows that item's record and replays it here (``replay_sweep``)."""
        try:
            sweep = Sweep(folder)
        except (OSError, ValueError) as exc:
            self._apply({"message": f"Could not add the sweep: {exc}"})
            raise
        self._sweep = sweep
        self._apply({"sweep": sweep.state(self.sweep.get("key", 0) + 1), "message": ""})

    def replay_sweep(self, item: int) -> Run:
        """Show the record of the shown sweep's item ``item`` and replay it as the current run, at the
        widget's pace: its frames paint live, and its final image is the sweep's, pixel for pixel."""
        item = validate.integer("Sweep item", item, 0, 2**31 - 1)
        if self._sweep is None:
            raise RuntimeError("Sweep item: no sweep in this widget; add one with add_sweep(folder)")
        record = self._sweep.item(item)
        self._apply({"sweep": self._sweep.state(self.sweep["key"], item)})
        if self.runner is None:
            raise RuntimeError("Sweep item: no pipeline to replay with; create the widget with SamplerWidget(pipe)")
        if self.runner.run is not None and not self.runner.run.done:
            raise RuntimeError("Sweep item: a run is going; press Stop or wait for it to finish")
        return self.runner.replay(record, pace=self.pace or None, keep_latents=True)

    def save_gallery(self, run: int | None = None) -> Path:
        """Write the gallery of run ``run`` (default: the current one) under ``gallery_dir``."""
        key = run if run is not None else self.run_id
        path = self._history.save(key, self.gallery_dir)
        self._apply({"saved": path.name})
        return path

    def generate(self, prompt: str, **kwargs: Any) -> Run:
        """Start a run (``Runner.start`` arguments) and return its ``Run`` at once; by default at
        the widget's pace and breakpoints, keeping each step's latents for Decode step."""
        kwargs.setdefault("guidance_scale", self.guidance)
        kwargs.setdefault("num_inference_steps", self.steps)
        kwargs.setdefault("height", self.height or None)
        kwargs.setdefault("width", self.width or None)
        kwargs.setdefault("pace", self.pace or None)
        kwargs.setdefault("pause_at", [b for b in self.breakpoints if b <= kwargs["num_inference_steps"]])
        kwargs.setdefault("keep_latents", True)
        return self._live.start(prompt, **kwargs)

    def branch(self, run: Run, step: int, **changes: Any) -> Run:
        """``Runner.branch`` at the widget's pace; the branch shows as the current run."""
        return self._live.branch(run, step, **{"pace": self.pace or None, "keep_latents": True, **changes})

    def set_pace(self, steps_per_second: float | None) -> float | None:
        """Steps per second for the current run and the next ones (``None`` or 0: full speed)."""
        pace = self._live.set_pace(steps_per_second or None)
        self._apply({"pace": pace or 0.0})
        return pace

    def pause(self) -> None:
        self._live.pause()

    def resume(self) -> None:
        self._live.resume()

    def stop(self) -> None:
        self._live.stop()

    def set_guidance(self, value: Any) -> float:
        """Apply ``value`` to the current run from its next step and show it."""
        value = self._live.set_guidance(value)
        self._apply({"guidance": value})
        return value

    def _on_event(self, event: StepEvent | StatusEvent) -> None:
        """On the runner thread: route to the run's sender, made at the run's first event."""
        sender = self._senders.get(event.run_id)
        if sender is None:
            sender = FrameSender(event.run, self.send, self._on_batch, self._report_sending)
            self._senders[event.run_id] = sender
            self._current = sender
            self._history.add_run(event.run, sender.encoded)
        sender.push(event)
        if isinstance(event, StatusEvent) and event.status.done:
            del self._senders[event.run_id]

    def _on_batch(self, run: Run, steps: list[StepEvent], status: StatusEvent | None) -> None:
        """On the sender thread, after each message: bring the traits up to date."""
        state = batch_state(run, steps, status, self.run_id, self.applied)
        if status is not None:
            state["runs"] = self._history.entries()
        self._apply(state)

    def _report_sending(self, text: str) -> None:
        """A sender's failure, shown as a message; cleared when sending works again."""
        if text or self.message == self._send_report:
            self._send_report = text
            self._apply({"message": text})

    def _on_message(self, _widget: Any, content: Any, _buffers: list) -> None:
        try:
            kind, args = messages.parse(content)
            if kind in messages.USER_ACTIONS and self.message:
                # A new action makes an old refusal stale; cleared first, so a failure that the
                # action reports from another thread (a save) is not erased after it.
                self._apply({"message": ""})
            # A run the browser starts takes turns with the kernel's loop, on the thread that owns
            # torch's CPU pool: a background thread's pool is up to 1.6× slower (core/loop.py).
            with self.runner.on_kernel() if self.runner is not None else contextlib.nullcontext():
                dispatch.handle(self, kind, args)
        except (TypeError, ValueError, RuntimeError, OSError) as exc:
            self._apply({"message": str(exc)})

    def _send_frames(self, key: int) -> None:
        """A run's frames in one message, for a view that opened late or browses the history."""
        metas, pngs = self._history.frames(key)
        content: dict[str, Any] = {"type": "history", "run": key, "frames": metas}
        final = self._history.final_png(key)
        if final is not None:  # the end of the scrubber shows it, for runs that ended before the page opened
            content["final"], pngs = True, [*pngs, final]
        self.send(content, pngs)
