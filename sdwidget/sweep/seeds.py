"""A sweep's seeds as arithmetic ranges, never as a list: ``0:1000000`` costs what ``0:10`` does.

Why: a sweep of 10^6 seeds over 100 prompts is 10^8 items; a list of them (or of their items)
took 1.5 GB before any image was drawn. ``Seeds`` keeps the ranges it was given and answers
``len``, ``seeds[i]`` and ``seeds.position(seed)`` (a record file's name back to its item) by
arithmetic, so planning, resuming and splitting a sweep cost memory independent of its size.
Two ranges that share a seed are refused exactly (a congruence test, not a set of seeds).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

EXPLICIT_UP_TO = 10_000
"""``sweep.json`` lists the seeds one by one up to this many (as it always did), else as ranges."""


def ascending(span: range) -> range:
    """The same seeds with a positive step (``range(9, 0, -3)`` → ``range(3, 10, 3)``)."""
    return span if span.step > 0 else range(span[-1], span[0] + 1, -span.step)


def overlap(a: range, b: range) -> bool:
    """Whether two non-empty ranges share a value: x ≡ a0 (mod sa), x ≡ b0 (mod sb), in both spans."""
    a, b = ascending(a), ascending(b)
    g = math.gcd(a.step, b.step)
    if (b.start - a.start) % g:
        return False
    m = b.step // g
    k = ((b.start - a.start) // g * pow(a.step // g, -1, m)) % m if m > 1 else 0
    first, period = a.start + a.step * k, a.step * m  # the common values are first + n·period
    low, high = max(a.start, b.start), min(a[-1], b[-1])
    x = first + -((first - low) // period) * period  # the smallest common value ≥ low
    return x <= high


class Seeds(Sequence[int]):
    """Seeds in the order given, as a few ranges; ``len`` and indexing cost nothing per seed."""

    def __init__(self, spans: list[range]) -> None:
        self.spans = [s for s in spans if len(s)]
        self._ends = list(itertools.accumulate(len(s) for s in self.spans))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("seed index out of range")
        part = bisect.bisect_right(self._ends, index)
        return self.spans[part][index - (self._ends[part - 1] if part else 0)]

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self.spans)

    def position(self, seed: int) -> int | None:
        """The index of ``seed`` (seeds are unique), or ``None``: without a scan of the seeds."""
        for part, span in enumerate(self.spans):
            if seed in span:  # range membership is arithmetic
                return (self._ends[part - 1] if part else 0) + span.index(seed)
        return None

    def spec(self) -> list[int] | dict[str, Any]:
        """How ``sweep.json`` records them: the list (small sweeps, the format it always had) or
        ``{"ranges": [[start, stop, step], ...], "count": n}``."""
        if len(self) <= EXPLICIT_UP_TO:
            return list(self)
        return {"ranges": [[s.start, s.stop, s.step] for s in self.spans], "count": len(self)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Seeds) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(len(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{s.start}:{s.stop}:{s.step}" for s in self.spans[:4])
        return f"Seeds({shown}{', ...' * (len(self.spans) > 4)})"
