"""A run's guidance lens as a person asks for it: a value at a step, the three views, the effect.

``Run.lens``, ``Run.lens_views``, ``Run.guidance_effect`` and ``Run.peek`` hand on to here; the
arithmetic is ``lens.py``'s, the held step's model call ``peek.py``'s, a distilled guidance's
model calls ``paid_lens.py``'s, the other half of a step run with CFG off ``half_lens.py``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from ..families import Switch
from ..preview import Frame
from . import validate
from .half_lens import HalfLens
from .lens import Lens, LensRecord
from .paid_lens import PaidLens
from .peek import PeekHold

if TYPE_CHECKING:
    from .run import Run

_WAIT = 60.0
"""Seconds ``lens`` waits for a held step's model call to be computed (a big model on a CPU)."""


class RunLens:
    def __init__(
        self, run: Run, record: LensRecord, peek: PeekHold | None, paid: PaidLens | None, switch: Switch, pipe: Any,
        decode: Callable[[torch.Tensor], Any] | None, off_at: float,
    ) -> None:  # fmt: skip
        self.run, self.record, self.hold, self.switch, self.pipe = run, record, peek, switch, pipe
        self.decode, self.off_at = decode, off_at
        self.paid = paid
        """Where guidance is a model input: the lens that makes a step's model calls again."""
        self.half = None if record.other is None or record.parts is None else HalfLens(record.other)
        """Where a step run with CFG off can be made again under CFG: its other half, paid once."""

    def _values(self, step: int) -> tuple[float, dict[str, float]]:
        """The guidance and later knobs step ``step`` ran with, or (held) is about to run with."""
        if step < len(self.run.steps):
            event = self.run.steps[step]
            return event.guidance, dict(event.knobs)
        names = [knob.name for knob in self.run.plan.knobs]
        return float(self.pipe.guidance_scale), {name: self.switch.value(self.pipe, name) for name in names}

    def _parts(self, step: Any) -> tuple[int, Any, tuple[torch.Tensor, ...]]:
        ran = len(self.run.steps)
        held = None if self.hold is None else self.hold.peeked
        if step == ran and held != ran and isinstance(step, int) and self.record.refusal is None:
            self._wait_for_peek(ran)
            held = None if self.hold is None else self.hold.peeked
        given, halves = self.record.halves(step, held, ran)
        return step, given, halves

    def lens(self, step: Any, guidance: Any, decode: bool = False, paid: bool = False, upcast: bool = False) -> Lens:
        guidance = validate.guidance(guidance)
        if self.paid is not None:  # a distilled guidance: a held run's next step is peeked first where paid for
            hold = self.hold if self.run.controls.paused else None
            if paid and hold is not None and hold.peeked is None and step == len(self.run.steps):
                self._wait_for_peek(step)
            ran = len(self.run.steps)
            latents = self.paid.latents(step, guidance, ran, paid, hold is not None)
            made = self.run.steps[step].guidance if step < ran else self.paid.made_at(step)
            return self._seen(step, guidance, latents, decode, guidance == made)
        step, given, halves = self._parts(step)
        ran_with, knobs = self._values(step)
        applied = guidance == ran_with or (len(halves) == 1 and max(ran_with, guidance) <= self.off_at)
        if len(halves) == 1 and guidance > self.off_at:
            if self.half is None or step == len(self.run.steps):  # held: the value applies from the next step
                raise ValueError(
                    f"step {step} ran with guidance {ran_with:g}, one model pass: a lens above {self.off_at:g} needs "
                    f"the unconditional half it did not compute (one model call: branch from step {step} with that "
                    "value)"
                )
            halves = self.half.halves(step, halves[0], guidance, paid)
        if upcast:  # a half-precision run's mix rounds to 1e-3: in float32 it is affine in the guidance
            halves = tuple(half.float() for half in halves)
        latents = self.record.lens(step, guidance, given, halves, knobs)
        return self._seen(step, guidance, latents, decode, applied)

    def _seen(self, step: int, guidance: float, latents: torch.Tensor, decode: bool, applied: bool) -> Lens:
        if decode and self.decode is None:
            raise ValueError("decode=True: this runner has no VAE decode for its pipeline")
        image = None if not decode or self.decode is None else self.decode(latents)
        return Lens(step, guidance, applied, latents, self.record.pictures, image)

    def views(self, step: Any) -> dict[str, Frame | None]:
        """The unconditional, conditional and guided x0 of a step (``None`` for a half not computed)."""
        step, given, halves = self._parts(step)
        guidance, knobs = self._values(step)
        frames: dict[str, Frame | None] = {"unconditional": None}
        made = self.half.cached(step) if self.half is not None and len(halves) == 1 else None  # paid for once
        if len(halves) == 2 or made is not None:
            uncond = (made or halves)[0]
            frames["unconditional"] = self.record.frame(self.record.view(self.record.x0(given, uncond)))
        frames["conditional"] = self.record.frame(self.record.view(self.record.x0(given, halves[-1])))
        frames["guided"] = self.record.frame(self.record.lens(step, guidance, given, halves, knobs))
        return frames

    def effect(self, step: int) -> float | None:
        """How far the step's guidance moved its x0: the mean |x0(g) − x0(off)| over the latents,
        ``0.0`` for a step that ran one half; ``None`` where its lens cannot be had."""
        try:
            given, halves = self.record.halves(step, None, len(self.run.steps))
        except ValueError:
            return None
        if len(halves) == 1:
            return 0.0
        guidance, knobs = self._values(step)
        guided = self.record.lens(step, guidance, given, halves, knobs)
        off = self.record.lens(step, self.off_at, given, halves, knobs)
        return float((guided.float() - off.float()).abs().mean())

    def peek(self, ready: Callable[[int], None] | None = None) -> bool:
        """Held: compute the next step's model call now (``peek.py``); ``ready(step)`` is called
        on the run's thread once it is done. ``False`` where the run is not held or has no lens."""
        if self.hold is None:
            return False
        if self.hold.peeked is not None:
            if ready is not None:
                ready(self.hold.peeked)
            return True
        if ready is not None:  # before the request: the run may reach the hold at once
            self.hold.when_ready(ready)
        if self.run.controls.request_peek():
            return True
        if ready is not None:
            self.hold.forget(ready)
        return False

    def _wait_for_peek(self, step: int) -> None:
        """Block until a held run's next step is peeked, where this thread can wait for it: a run
        on its own thread, or a kernel-hosted one driven from a cell (``Run.wait``)."""
        done = threading.Event()
        if not self.peek(lambda _: done.set()):
            return
        if not self.run.on_kernel:
            if threading.current_thread() is not self.run._thread:
                done.wait(_WAIT)
            return
        host = self.run._host
        if host is not None and threading.current_thread() is threading.main_thread() and not host.inside():
            waited = 0.0
            while not done.is_set() and not self.run.done and waited < _WAIT:
                host.wait(0.05)
                waited += 0.05
