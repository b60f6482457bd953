"""The processes of a sweep as one group: rank, size, and the three collectives a sweep needs.

Why collectives rather than the shared folder: on several nodes a folder is not a reliable
channel (caches, a folder that is not shared at all), so what must be agreed is sent: each
process's refusal is gathered so all stop alike with the reasons (``agree``), the main process
broadcasts which items are done (the pending list is its complement, so the message is as large
as the finished part, not the sweep), and each process's records are gathered back to the main
one. ``torch.distributed``'s object collectives carry them (gloo on CPU, NCCL on GPUs);
``process_group`` is the one place that knows about accelerate, and tests replace it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import torch

from .inputs import SweepError

T = TypeVar("T")


class Group(Protocol):
    rank: int
    size: int
    device: torch.device
    on_cpu: bool

    def barrier(self) -> None: ...
    def broadcast(self, value: Any) -> Any: ...
    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in rank order (all processes get the list)."""
        ...


class AccelerateGroup:
    """The processes ``accelerate launch`` (or torchrun) started; one process otherwise."""

    def __init__(self) -> None:
        from accelerate import PartialState

        self.on_cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true")
        state = PartialState(cpu=self.on_cpu)
        self.rank, self.size, self.device = state.process_index, state.num_processes, state.device
        self._state = state

    def barrier(self) -> None:
        self._state.wait_for_everyone()

    def broadcast(self, value: Any) -> Any:
        if self.size == 1:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        if self.size == 1:
            return [value]
        out: list[Any] = [None] * self.size
        torch.distributed.all_gather_object(out, value)
        return out


def process_group() -> Group:
    return AccelerateGroup()


def agree(group: Group, step: Callable[[], T]) -> T:
    """Run ``step`` in every process; if any raised ``SweepError``, all raise one naming each
    process that refused and why (a model missing on node 2 stops node 1 too, with the reason)."""
    try:
        result, error = step(), None
    except SweepError as exc:
        result, error = None, str(exc)
    errors = group.gather(None if error is None else (socket.gethostname(), error))
    refused = [(rank, e) for rank, e in enumerate(errors) if e is not None]
    if refused:
        if group.size == 1:
            raise SweepError(refused[0][1][1])
        messages = {e[1] for _, e in refused}
        if len(refused) == group.size and len(messages) == 1:  # all found the same problem: say it once
            raise SweepError(next(iter(messages)))
        rank, (host, message) = refused[0]
        more = f" (and {len(refused) - 1} other process(es))" if len(refused) > 1 else ""
        raise SweepError(f"process {rank} of {group.size} on {host}{more}: {message}")
    return result  # type: ignore[return-value]
