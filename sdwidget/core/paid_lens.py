"""A paid guidance lens: a step seen at another value of a guidance the model takes as an input.

A distilled guidance (the families giving ``Steering.recall``) is not a weight of two halves: no kept output
shows another value's effect, so there is no free lens. The family makes the step's model calls
again with the other value, from the inputs it kept as it made them (``Recall``), and the x0 comes
from the copy of the scheduler the free lens steps (``LensRecord.x0``): the one a branch applying
that value at that step previews, bit for bit on the CPU. Each (step, value) costs the step's calls
once (as many as the family's loop makes a step, ``Recall``); the x0 is cached, so a value seen
before comes back with no call, asked with ``paid=True`` or not.

A held run's next step has no lens here: the pipeline makes its model inputs inside the step, once
the run goes on, and a peek (the free lens's way) would pay for its call at the current value first.
"""

from __future__ import annotations

import threading

import torch

from ..families.recall import Recall
from . import validate
from .lens import LensRecord

CACHED = 64
"""(step, value) x0 latents kept per run; the oldest goes first."""


class PaidOffer(ValueError):
    """No free lens, but a paid one: ``calls`` model calls would show it (``paid=True``);
    ``reason``: why there is no free one; ``per``: what the calls buy, ``"value"`` (a distilled
    guidance: each value at that step) or ``"step"`` (a step run with CFG off: every value there)."""

    def __init__(self, message: str, calls: int, reason: str, per: str = "value") -> None:
        super().__init__(message)
        self.calls, self.reason, self.per = calls, reason, per


class PaidLens:
    """A run's paid lens: x0 latents per (step, value), made once each, from any thread."""

    def __init__(self, record: LensRecord, recall: Recall) -> None:
        self.record, self.recall = record, recall
        self.calls = 0
        """Model calls made so far (each new value's step calls)."""
        self._cache: dict[tuple[int, float], torch.Tensor] = {}
        self._lock = threading.Lock()  # held through a call: the same value asked twice at once is paid once

    def cached(self, step: int, guidance: float) -> torch.Tensor | None:
        with self._lock:
            return self._cache.get((step, guidance))

    def latents(self, step: int, guidance: float, ran: int, paid: bool) -> torch.Tensor:
        """Step ``step``'s x0 at ``guidance``; without ``paid``, a value not seen before raises
        ``PaidOffer``. ``ran``: the steps recorded so far."""
        step = validate.integer("step", step, 0, ran)
        hit = self.cached(step, guidance)
        if hit is not None:
            return hit
        calls = self._check(step, ran)
        if not paid:
            raise PaidOffer(
                f"no free guidance lens: {self.record.refusal}: a paid lens (paid=True) makes step {step}'s model "
                f"call again at {guidance:g} ({calls} {'call' if calls == 1 else 'calls'}, then cached)",
                calls,
                str(self.record.refusal),
            )
        with self._lock:
            hit = self._cache.get((step, guidance))
            if hit is not None:
                return hit
            output = self.recall.output(step, guidance)
            self.calls += calls
            latents = self.record.view(self.record.x0(self.record.inputs[step], output))
            if len(self._cache) >= CACHED:
                self._cache.pop(next(iter(self._cache)))
            self._cache[(step, guidance)] = latents
            return latents

    def _check(self, step: int, ran: int) -> int:
        """The step's calls, or ``ValueError`` saying why it has no paid lens."""
        scheduler = self.record.scheduler
        if getattr(scheduler, "order", 1) != 1:
            raise ValueError(
                f"no guidance lens: {type(scheduler).__name__} takes two model calls a step, the second from the "
                "first's result"
            )
        if step == ran:
            raise ValueError(
                f"step {step} has not run: a paid lens makes a step's model call again from the inputs the "
                "pipeline made for it, which it makes once the step starts (Next step runs it at the value set; "
                "then its lens, and any earlier step's, can be paid for)"
            )
        calls = self.recall.calls(step)
        if not calls or step not in self.record.inputs:
            raise ValueError(f"step {step}'s model inputs were not kept: no paid lens")
        return calls
