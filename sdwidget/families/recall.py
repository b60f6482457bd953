"""A step's denoiser calls made again with another value of a guidance the model takes as an input.

A distilled guidance (FLUX.1-dev's, FLUX.2 [dev]'s) is an input of the transformer, not a weight
of two halves: no kept output shows another value's effect, so a guidance lens there costs the
step's model calls again (a paid lens, ``core/paid_lens.py``). The family's transformer wrapper
keeps each call's keyword arguments as it made them (``CallRecord.keep``); the engine says when
the loop hands a step's output to its scheduler (``end_step``), so the calls since are that step's.
``output`` makes them again with the guidance input replaced, through the transformer's own
``forward`` as it was before any of the run's wrappers: nobody's step is counted, kept or steered,
and on as many CPU threads as the run's thread had (the count decides the order of sums).
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

    def output(self, step: int, guidance: float) -> torch.Tensor:
        """The model output the loop would have handed its scheduler at step ``step`` had its guidance
        been ``guidance``: its calls made again (``calls(step)`` of them); ``KeyError`` where none were kept."""
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

    def output(self, step: int, guidance: float) -> torch.Tensor:
        with self._lock:
            made = self._steps[step]
        outputs, before = [], torch.get_num_threads()
        torch.set_num_threads(self._threads)  # this thread's count only (OpenMP keeps it per thread)
        try:
            with torch.no_grad():  # a thread of its own: the pipeline's no_grad is its thread's
                for kwargs in made:
                    value = torch.full_like(kwargs[self.name], guidance)  # as the pipeline builds it: float32, per row
                    out = self.forward(**{**kwargs, self.name: value, "return_dict": False})
                    outputs.append(out[0])
        finally:
            torch.set_num_threads(before)
        return self.combine(outputs)
