"""A paid guidance lens: a step seen at another value of a guidance the model takes as an input.

A distilled guidance (the families giving ``Steering.recall``) is not a weight of two halves: no kept output
shows another value's effect, so there is no free lens. The family makes the step's model calls
again with the other value, from the inputs it kept as it made them (``Recall``), and the x0 comes
from the copy of the scheduler the free lens steps (``LensRecord.x0``): the one a branch applying
that value at that step previews, bit for bit on the CPU. Each (step, value) costs the step's calls
once (as many as the family's loop makes a step, ``Recall``); the x0 is cached, so a value seen
before comes back with no call, asked with ``paid=True`` or not.

A held run's next step has made no call yet: the pipeline makes its model inputs inside the step.
Paying for a value there peeks first (``peek.py``): the step's own calls are made at the value in
force, as Next step would make them, and kept (that value's lens is then free); then they are made
again at the value asked. Those
outputs are kept until the step is applied: set to a value paid for, Next step steps with that
value's outputs (no call), to another, with its calls made then; either way the run's branch store
keeps the outputs the step stepped with (``redo``), so a branch or replay of it is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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

    def __init__(self, record: LensRecord, recall: Recall, redo: Callable[[int, list[torch.Tensor]], None]) -> None:
        """``redo(step, calls)``: the run keeps these call outputs as step ``step``'s (``UnetTap.redo``)."""
        self.record, self.recall, self.redo = record, recall, redo
        self.calls = 0
        """Model calls made so far (each new value's step calls, a held step's applied value's)."""
        self._cache: dict[tuple[int, float], torch.Tensor] = {}
        self._held: tuple[int, dict[float, list[torch.Tensor]]] = (-1, {})  # the step to come's calls per value
        self._lock = threading.Lock()  # held through a call: the same value asked twice at once is paid once

    def cached(self, step: int, guidance: float) -> torch.Tensor | None:
        with self._lock:
            return self._cache.get((step, guidance))

    def latents(self, step: int, guidance: float, ran: int, paid: bool, held: bool) -> torch.Tensor:
        """Step ``step``'s x0 at ``guidance``; without ``paid``, a value not seen before raises
        ``PaidOffer``. ``ran``: the steps recorded so far; ``held``: whether the run is held before
        the step to come (``step == ran``: peeked already where ``paid``)."""
        step = validate.integer("step", step, 0, ran)
        hit = self.cached(step, guidance)
        if hit is not None:
            return hit
        calls = self._check(step, ran, paid, held)
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
            outputs = self.recall.outputs(step, guidance)
            self.calls += len(outputs)
            if step == ran:  # the step to come: kept until it is applied (``apply``)
                self._held = (step, self._held[1] if self._held[0] == step else {})
                self._held[1][guidance] = outputs
            output = self.recall.combine(outputs)
            latents = self.record.view(self.record.x0(self.record.inputs[step], output))
            self._keep(step, guidance, latents)
            return latents

    def _keep(self, step: int, guidance: float, latents: torch.Tensor) -> None:
        """Cache an x0 (lock held)."""
        if len(self._cache) >= CACHED:
            self._cache.pop(next(iter(self._cache)))
        self._cache[(step, guidance)] = latents

    def own(self, step: int, output: torch.Tensor) -> None:
        """A held step's own output (runner thread, peeked): its x0 at the value it was made with."""
        value = self.made_at(step)
        if value is not None:
            latents = self.record.view(self.record.x0(self.record.inputs[step], output))
            with self._lock:
                self._keep(step, value, latents)

    def made_at(self, step: int) -> float | None:
        """The guidance step ``step``'s calls were made with; ``None`` where they were not kept."""
        return self.recall.value(step) if self.recall.calls(step) else None

    def apply(self, step: int, guidance: float) -> torch.Tensor:
        """A held step applied at ``guidance`` (runner thread, before its scheduler step): the
        model output to step with, from the calls a lens paid for at that value, else made now;
        the run keeps those calls as the step's."""
        with self._lock:
            outputs = self._held[1].get(guidance) if self._held[0] == step else None
            self._held = (-1, {})
            if outputs is None:
                outputs = self.recall.outputs(step, guidance)
                self.calls += len(outputs)
        self.redo(step, outputs)
        return self.recall.combine(outputs)

    def _check(self, step: int, ran: int, paid: bool, held: bool) -> int:
        """The step's calls, or ``ValueError`` saying why it has no paid lens."""
        scheduler = self.record.scheduler
        if getattr(scheduler, "order", 1) != 1:
            raise ValueError(
                f"no guidance lens: {type(scheduler).__name__} takes two model calls a step, the second from the "
                "first's result"
            )
        if step == ran and step not in self.record.inputs:  # not peeked: the step made no call yet
            if held and not paid and step > 0:  # offered at the calls the step before made
                return self.recall.calls(step - 1)
            raise ValueError(
                f"step {step} has not run: its paid lens is had while the run is held before it (Pause): the "
                "step's model call is made at the value in force, as Next step makes it, then again at the value "
                "asked"
            )
        calls = self.recall.calls(step)
        if not calls or step not in self.record.inputs:
            raise ValueError(f"step {step}'s model inputs were not kept: no paid lens")
        return calls
