"""SamplerWidget: the control panel in the notebook, one observer of a Runner."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from ..core import Run, Runner, StatusEvent, StepEvent
from . import dispatch, messages
from .guider import GuiderChoice
from .history import History
from .interval import GuidanceInterval
from .knobs import KnobSteering
from .lens import GuidanceLens
from .library import Library
from .saver import BackgroundSave
from .sender import FrameSender
from .state import batch_state
from .sweeps import Sweep


class SamplerWidget(KnobSteering, GuiderChoice, GuidanceInterval, GuidanceLens, Library):
    """Generate, watch, pause, stop, steer guidance and scrub steps of a diffusers pipeline.

    Developer notes: the browser sends small JSON messages (generate, pause, resume, stop,
    guidance, knob, ack, sync, frames, save, lens…), each validated by ``messages.parse`` before it reaches
    the runner; a refusal lands in ``message`` and the run goes on. The runner calls
    ``_on_event`` on its thread with events that carry their run; it only queues. A
    ``FrameSender`` thread per run encodes each step's thumbnail as PNG, sends it as a binary
    buffer in a custom message, waits for the browser's ack (two messages in flight at most) and
    updates the traits. Traits carry state, never frames, so a saved notebook stays small; a view
    that opens late asks for the run's frames with ``sync``, and one browsing the history asks for
    any run's or gallery's frames with ``frames``. A prompt edit is encoded on the message
    handler's thread and answered with ``prompt_encoded`` (the seconds it took, or ``error``). A
    save from the browser is written on a thread of its own (``saver``). A sweep added with
    ``add_sweep`` is read by ``sweeps`` (the kernel keeps the folder); the browser asks for its grid
    image with ``sweep_grid`` and names a clicked item by number with ``sweep_item``. Every
    kernel→browser state change is a trait assignment made by ``_apply`` (under ``hold_sync``, one
    lock for all threads), which ipywidgets sends as an ``update`` message to every front end.
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
        self._init_knobs(self.runner, "guidance" in kwargs)
        self._init_lens()
        self._init_guider(self.runner)
        if self.runner is not None:
            self.has_model = True
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
        for name, value in self._asked_knobs().items():  # the later knobs' values asked for in the widget
            kwargs.setdefault(name, value)
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

    def _on_event(self, event: StepEvent | StatusEvent) -> None:
        """On the runner thread: route to the run's sender, made at the run's first event."""
        sender = self._senders.get(event.run_id)
        if sender is None:
            sender = FrameSender(event.run, self.send, self._on_batch, self._report_sending)
            self._senders[event.run_id] = sender
            self._current = sender
            self._history.add_run(event.run, sender.encoded)
        sender.push(event)
        self._hand_planned(event)
        if isinstance(event, StatusEvent) and event.status.done:
            del self._senders[event.run_id]

    def _on_batch(self, run: Run, steps: list[StepEvent], status: StatusEvent | None) -> None:
        """On the sender thread, after each message: bring the traits up to date."""
        state = batch_state(run, steps, status, self.run_id, self.applied, self.knob_applied)
        state.update(self._interval_followed(run))
        if status is not None:
            state["runs"] = self._history.entries()
        state.update(self._lens_after(run, steps, status, state.get("runs", self.runs)))
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
            asked = content.get("type") if isinstance(content, dict) else None
            # The page waits for this kind's answer; a hostile type may be unhashable.
            if isinstance(asked, str) and asked in messages.ANSWERED:
                self.send({"type": messages.ANSWERED[asked], "error": True})
            self._apply({"message": str(exc)})
