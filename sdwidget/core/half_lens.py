"""A guidance lens where a step ran with CFG off: its other half, for one model call.

Such a step computed the conditional half alone, so no value above the off one has a free lens
there. The family makes the step's model call again as a step under CFG makes it (``OtherHalf``,
from the inputs it kept as the step ran), once: both halves are kept, and every value's lens at
that step is then the free lens's formula on them, through the same copy of the scheduler, with no
further call. Never made unasked: without ``paid=True`` a lens there is refused with the offer
(``PaidOffer``, one call). A held step is not offered it: the value set applies from the next step.
"""

from __future__ import annotations

import threading

import torch

from ..families.recall import OtherHalf
from .paid_lens import PaidOffer

KEPT = 16
"""Steps whose computed halves are kept per run (two model outputs each); the oldest goes first."""


class HalfLens:
    """A run's other halves: made once per step, from any thread."""

    def __init__(self, other: OtherHalf) -> None:
        self.other = other
        self.calls = 0
        """Model calls made so far (one per step asked)."""
        self._halves: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._lock = threading.Lock()  # held through a call: the same step asked twice at once is paid once

    def cached(self, step: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        with self._lock:
            return self._halves.get(step)

    def halves(self, step: int, kept: torch.Tensor, guidance: float, paid: bool) -> tuple[torch.Tensor, ...]:
        """Step ``step``'s two halves (``kept``: the one it computed); without ``paid``, ``PaidOffer``
        where they were not made yet; ``ValueError`` where its inputs were not kept."""
        hit = self.cached(step)
        if hit is not None:
            return hit
        reason = f"step {step} ran with CFG off (one model pass): its unconditional half was never computed"
        if not self.other.calls(step):
            raise ValueError(f"no guidance lens above the off value: {reason}, and its model inputs were not kept")
        if not paid:
            raise PaidOffer(
                f"no free guidance lens at {guidance:g}: {reason}; a paid lens (paid=True) makes step {step}'s "
                "model call again under CFG (1 call, then every value there is free)",
                1,
                reason,
                per="step",
            )
        with self._lock:
            hit = self._halves.get(step)
            if hit is not None:
                return hit
            made = self.other.halves(step, kept)
            self.calls += 1
            if len(self._halves) >= KEPT:
                self._halves.pop(next(iter(self._halves)))
            self._halves[step] = made
            return made
