"""A run's guidance lens: any step seen at another guidance value, and the held step's peek."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..preview import Frame
from .events import RunStatus
from .lens import Lens
from .run_driven import SLICE, RunDriven
from .run_lens import RunLens


class RunSeen(RunDriven):
    """``Run``'s lens methods; the lens itself (``RunLens``) is set once the run's thread has
    entered the pipeline call."""

    _lens: RunLens | None

    def lens(self, step: int, guidance: float, *, decode: bool = False, paid: bool = False) -> Lens:
        """Step ``step`` (0-based) seen at ``guidance``: the x0 estimate and frame a branch
        applying ``guidance`` at that step would show, computed from the step's kept halves with no
        model call (``lens.py``); ``decode=True`` adds the VAE's image. A held run's next step
        (``step == len(run.steps)``) is computed up to its model call first (``peek``), on a run
        with a thread of its own or waited for in a cell; Next step or resume then applies the
        value last set, as before (a distilled guidance's held step too, with ``paid=True``).
        ``ValueError`` where no free lens exists, with the reason: a step run with guidance off
        (one half), a family combining guidance where its halves are not kept (a distilled
        guidance is a model input, not a combination), a two-call scheduler (Heun), a step over
        the branch budget. ``paid=True``: where guidance is a
        model input (``Steering.recall``) the step's model call is made again at ``guidance``, once
        per value (``paid_lens.py``); on a past step run with guidance off (``Steering.other_half``)
        its call is made again as a step under guidance makes it, once for the step, then every
        value there is free (``half_lens.py``). Without it both are refused with ``PaidOffer``; a
        value seen before comes back with no call either way. ``Lens.frame`` is the run's own
        preview of the x0, ``Lens.quick`` a picture made at once (``lens_frames.py``)."""
        self._reach(step)
        return self._lens_or_refusal().lens(step, guidance, decode, paid)

    def lens_float32(self, step: int, guidance: float) -> Lens:
        """``lens(step, guidance)`` from the step's halves mixed in float32: a half-precision
        run's own lens is affine in the guidance only to its rounding (1e-3), this one to float32's
        (the page's own lens fits it, ``lens_affine.py``). A free lens only, as ``lens``."""
        self._reach(step)
        return self._lens_or_refusal().lens(step, guidance, upcast=True)

    def lens_views(self, step: int) -> dict[str, Frame | None]:
        """The unconditional, conditional and guided x0 frames of a step (``None``: not computed)."""
        self._reach(step)
        return self._lens_or_refusal().views(step)

    def guidance_effect(self, first: int = 0) -> list[float | None]:
        """Per recorded step from ``first`` on, how far its guidance moved the x0 estimate: the mean
        |x0(g) − x0(off)| over the latents (``0.0`` where guidance was off; ``None`` where no lens
        exists). ``first``: to add the steps recorded since the last call only."""
        lens = self._lens
        return [None if lens is None else lens.effect(step) for step in range(first, len(self.steps))]

    def peek(self, ready: Callable[[int], None] | None = None) -> bool:
        """Held: compute the next step's model call now, holding again before its scheduler step,
        so its lens is free (where guidance is a model input, each other value costs a call:
        ``paid_lens.py``); ``ready(step)`` is called (on the run's thread) once it is. ``False``
        where the run is not held or has no lens."""
        return False if self._lens is None else self._lens.peek(ready)

    def _reach(self, step: Any) -> None:
        """Where this thread can wait for the run (not its own; a kernel-hosted run from a cell),
        until it has run past ``step``, holds, or has ended: a lens asked for a step the run is
        still heading to is answered when it gets there."""
        if not isinstance(step, int) or isinstance(step, bool):
            return
        if threading.current_thread() is self._thread or (self._host is not None and self._host.inside()):
            return

        # Held anywhere counts as there: a hold before an earlier step would otherwise never end.
        while not (self.done or len(self.steps) > step or self.status is RunStatus.PAUSED):
            self.wait(SLICE)

    def _lens_or_refusal(self) -> RunLens:
        if self._lens is None:
            raise ValueError(f"{self!r} has no guidance lens yet: it has not entered its pipeline call")
        return self._lens
