"""The guidance lens in the widget: a step seen at another guidance before anything is applied.

The page asks ``lens {run, step, guidance, id}`` (the held run's next step while the Guidance
slider moves, a scrubbed step in What if) and ``views {run, step, id}`` (a step's unconditional,
conditional and guided x0). Each gets one custom message back with its ``id`` and its frames as
binary buffers, or ``refused``: why there is no lens, in words. The page keeps two requests in
flight at most, then asks for the newest value only (latest wins): a drag never queues work here.
Frames never go into traits; the mode (``lens``) and the effect per step (``effects``) do. While
the slider moves the page asks ``quick``: the lens's quick picture (``Lens.quick``), said in the
reply's ``picture`` (``quick``, ``decoded``: the run's preview decodes with the VAE, or
``preview``: its only kind); at rest it asks again without, for the run's own preview. ``local``:
``lens_local`` follows, the step's affine part for the page to draw itself (``lens_local.py``).

Where guidance is a model input (distilled: a family giving ``Steering.recall``) a value's lens costs the
step's model call: a lens request is answered from values already paid for, else refused with
``offer`` (how many calls); the page's Preview button asks again with ``paid``, answered from a
thread of its own (a model call must not hold the kernel's thread, nor a run hosted on it). A past
step that ran with CFG off is offered its unconditional half the same way: one call for the step,
then every value there is free (``core/half_lens.py``).

A held run's next step has not made its model call: ``Run.peek`` makes it on the run's own thread
and calls back; the answer goes from there. Nothing here waits for it: a run hosted on the
kernel's thread would be waiting for this very handler. Where guidance is a model input, the step
to come is offered like a past step (no peek, no call) and Preview peeks, then pays for the value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from ..core import Run
from ..core.paid_lens import PaidOffer
from .history import History
from .lens_local import local_part
from .lens_state import LensState, offer, one_based
from .sender import encode


class GuidanceLens(LensState):
    """``SamplerWidget``'s lens: requests answered by message, the reasons where there is none."""

    knobs: list[dict[str, Any]]
    send: Callable[..., None]
    _history: History

    def _lens_request(self, run: int, step: int, id: int, guidance: float | None = None, **asked: bool | str) -> None:
        """Answer at once, or (the held run's next step) once ``Run.peek`` has made its model call, or (``paid``)
        from a thread making the step's model call at that value. ``quick``: the slider moves: the quick picture
        (``Lens.quick``); ``local``: the affine part follows, and the recipe unless it is ``recipe`` (lens_local.py)."""
        kind = "views" if guidance is None else "lens"
        reply: dict[str, Any] = {"type": kind, "id": id, "run": run, "step": step}
        if guidance is not None:
            reply["guidance"] = guidance
        reply.update({name: on for name, on in asked.items() if on})
        paid = reply.get("paid", False)
        try:
            record = self._history[run]
        except ValueError as exc:
            return self.send({**reply, "refused": f"No guidance lens: {exc}"}, [])
        if not isinstance(record, Run):
            return self.send({**reply, "refused": "No guidance lens: a loaded gallery keeps no model outputs"}, [])
        answer: Callable[[], None] = partial(self._answer, record, reply)
        if paid:  # a model call: not on the kernel's thread, nor on a run's thread hosted there
            answer = threading.Thread(target=answer, name=f"sdwidget-paid-lens-{record.id}", daemon=True).start
        if step >= len(record.steps) and not record.done:
            # A value of a guidance the model takes as an input is offered with no call: no peek until paid for.
            if step == len(record.steps) and (paid or not self._model_input()):
                with self._lens_lock:
                    self._waiting[(record.id, kind)] = answer
                if record.peek(partial(self._peeked, record.id)):
                    return  # answered by _peeked: now if the step was peeked already, else from the run's thread
                with self._lens_lock:
                    self._waiting.pop((record.id, kind), None)
            if not record.controls.paused:  # Run.lens would wait here for the run to get there
                return self.send({**reply, "refused": self._not_yet(step)}, [])
        answer()

    def _peeked(self, run: int, _step: int) -> None:
        with self._lens_lock:
            due = [self._waiting.pop(key) for key in list(self._waiting) if key[0] == run]
        for answer in due:
            answer()

    def _answer(self, run: Run, reply: dict[str, Any]) -> None:
        """Compute and send; may run on the run's thread, so nothing is raised from here."""
        step, coming = reply["step"], reply["step"] == len(run.steps)
        buffers: list[bytes] = []
        try:
            if reply["type"] == "lens":
                seen = run.lens(step, reply["guidance"], paid=reply.get("paid", False))
                quick = reply.get("quick", False) and seen.rough
                buffers = [encode((seen.quick if quick else seen.frame).image())]
                reply["picture"] = "quick" if quick else "decoded" if seen.rough else "preview"
            else:
                views = run.lens_views(step)
                reply["views"] = [name for name, frame in views.items() if frame is not None]
                buffers = [encode(frame.image()) for frame in views.values() if frame is not None]
            held = step == len(run.steps)  # after: a run may have recorded the step meanwhile
            reply["held"] = held
            if reply["type"] == "lens":
                reply.update(applied=seen.applied, ran=None if held else run.steps[step].guidance)
        except PaidOffer as exc:
            held, reply["refused"], reply["offer"] = False, offer(exc, step), exc.calls
        except ValueError as exc:
            held = coming
            reply["refused"] = self._reason(run, reply, coming, exc)
        except Exception as exc:  # noqa: BLE001 - on the run's thread it would end the run
            held = False
            reply["refused"] = f"The guidance lens failed: {type(exc).__name__}: {exc}"
        try:
            self.send(reply, buffers)
            if reply.get("local") and "refused" not in reply:
                self.send(*local_part(run, reply, self.knobs[0] if self.knobs else {}))
        except Exception:  # noqa: BLE001 - a closed page: the next request asks again
            return
        if reply["type"] == "lens" and held and run.controls.paused:
            shown = {"run": run.id, "step": step, "guidance": reply["guidance"]}
            with self._lens_lock:  # a reloaded page shows this preview again
                self._apply({"lens": {**self.lens, "held": shown}})

    def _reason(self, run: Run, reply: dict[str, Any], held: bool, exc: ValueError) -> str:
        step, value = reply["step"], reply.get("guidance")
        if held and not run.controls.paused:
            return self._not_yet(step)
        off = self.knobs[0].get("off_at") if self.knobs else None
        if value is not None and off is not None and value > off and self._one_half(run, step):
            if held:
                return (f"Step {step + 1} runs with CFG off (one model pass): it has no preview above {off:.1f}; "
                        f"{value:.1f} applies from step {step + 2} on Next step or Resume")  # fmt: skip
            return (f"Step {step + 1} ran with CFG off (one model pass): its unconditional half was never "
                    f"computed. Branch with this computes it from there (one model call a step)")  # fmt: skip
        return one_based(str(exc), step)

    def _model_input(self) -> bool:
        """Whether the guidance is a model input (no off value): its lens is paid for (``paid_lens.py``)."""
        return bool(self.knobs) and self.knobs[0].get("off_at") is None

    @staticmethod
    def _not_yet(step: int) -> str:
        return f"Step {step + 1} has not run yet: its preview shows while the run is held (Pause)"

    @staticmethod
    def _one_half(run: Run, step: int) -> bool:
        try:
            return run.lens_views(step)["unconditional"] is None
        except ValueError:
            return False
