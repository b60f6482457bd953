"""A step's denoiser calls made again with another value of a guidance the model takes as an input.

A distilled guidance (FLUX.1-dev's, FLUX.2 [dev]'s) is an input of the transformer, not a weight
of two halves: no kept output shows another value's effect, so a guidance lens there costs the
step's model calls again (a paid lens, ``core/paid_lens.py``). The family's transformer wrapper
keeps each call's keyword arguments as it made them (``CallRecord.keep``); the engine says when
the loop hands a step's output to its scheduler (``end_step``), so the calls since are that step's.
``outputs`` makes them again with the guidance input replaced, through the transformer's own
``forward`` as it was before any of the run's wrappers: nobody's step is counted, kept or steered,
and on as many CPU threads as the run's thread had (the count decides the order of sums);
``combine`` makes the step's output of them, as the loop does. A held run's next step applied at
another value steps with that output, and the run keeps those calls (``core/paid_lens.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import torch


class Recall(Protocol):
    """What a paid guidance lens asks a family whose guidance is a model input."""

    def end_step(self, step: int) -> None:
        """The loop hands step ``step``'s output to its scheduler: the calls made since are its own."""
        ...

    def outputs(self, step: int, guidance: float) -> list[torch.Tensor]:
        """Step ``step``'s calls' outputs had its guidance been ``guidance``: its calls made again
        (``calls(step)`` of them), in the order the loop made them; ``KeyError`` where none were kept."""
        ...

    def combine(self, made: list[torch.Tensor]) -> torch.Tensor:
        """The model output the loop hands its scheduler, from a step's calls' outputs."""
        ...

    def value(self, step: int) -> float:
        """The guidance input step ``step``'s calls were made with; ``KeyError`` where none were kept."""
        ...

    def calls(self, step: int) -> int:
        """How many denoiser calls ``output`` makes for step ``step`` (0: none kept)."""
        ...


class CallRecord:
    """A ``Recall`` for a transformer whose guidance input is the keyword ``name``, one value per row.

    ``forward``: the transformer's ``forward`` read before the run wrapped it. ``combine``: the
    step's output from its calls' outputs, as the loop makes it. The arguments are kept by
    reference: the loop makes new latents and timesteps each step, and embeddings are swapped, not changed.
    """

    def __init__(
        self, forward: Callable[..., Any], combine: Callable[[list[torch.Tensor]], torch.Tensor], name: str = "guidance"
    ) -> None:
        self.forward, self.combine, self.name = forward, combine, name
        self._made: list[dict[str, Any]] = []
        self._steps: dict[int, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._threads = torch.get_num_threads()

    def keep(self, kwargs: dict[str, Any]) -> None:
        """One call of the step in progress, as made (runner thread)."""
        with self._lock:
            self._made.append(dict(kwargs))
            self._threads = torch.get_num_threads()

    def end_step(self, step: int) -> None:
        with self._lock:
            self._steps[step], self._made = self._made, []

    def calls(self, step: int) -> int:
        with self._lock:
            return len(self._steps.get(step, []))

    def made(self, step: int) -> list[dict[str, Any]]:
        """Step ``step``'s calls' arguments, as made; ``KeyError`` where none were kept."""
        with self._lock:
            return self._steps[step]

    def outputs(self, step: int, guidance: float) -> list[torch.Tensor]:
        # The guidance input as the pipeline builds it: float32, one value per row.
        made = [{**kwargs, self.name: torch.full_like(kwargs[self.name], guidance)} for kwargs in self.made(step)]
        return [self.call(kwargs) for kwargs in made]

    def value(self, step: int) -> float:
        return float(self.made(step)[0][self.name].flatten()[0])  # one value for every row

    def call(self, kwargs: dict[str, Any]) -> torch.Tensor:
        """The denoiser's output for these arguments, through ``forward``, on the run's thread count."""
        before = torch.get_num_threads()
        torch.set_num_threads(self._threads)  # this thread's count only (OpenMP keeps it per thread)
        try:
            with torch.no_grad():  # a thread of its own: the pipeline's no_grad is its thread's
                return self.forward(**{**kwargs, "return_dict": False})[0]
        finally:
            torch.set_num_threads(before)


class OtherHalf(Protocol):
    """Where a step ran with CFG off (one half computed): both halves as a step under CFG makes
    them, for one model call, so a guidance lens there shows any value (``core/half_lens.py``)."""

    def end_step(self, step: int) -> None:
        """The loop hands step ``step``'s output to its scheduler: the calls made since are its own."""
        ...

    def calls(self, step: int) -> int:
        """The model calls ``halves`` makes for step ``step`` (0: its inputs were not kept)."""
        ...

    def halves(self, step: int, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(unconditional, conditional) of step ``step``, which computed ``kept`` alone (its one half,
        as the scheduler took it), as the loop's call under CFG would have made them."""
        ...


class SecondCall:
    """An ``OtherHalf`` for a loop that calls its denoiser once per half (Flux's true CFG): the
    step's one call made again with the unconditional conditioning (``negative(rows)``: the
    arguments it replaces), the conditional half the one kept."""

    def __init__(self, record: CallRecord, negative: Callable[[int], dict[str, torch.Tensor]]) -> None:
        self.record, self.negative = record, negative
        self.end_step = record.end_step

    def calls(self, step: int) -> int:
        return 1 if self.record.calls(step) == 1 else 0

    def halves(self, step: int, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (kwargs,) = self.record.made(step)
        rows = kwargs["hidden_states"].shape[0]
        return self.record.call({**kwargs, **self.negative(rows)}), kept
