"""The (prompt, seed) pairs of a sweep, in one order every process computes alike, and its identity.

Items are computed from their index (``plan.item(i)``), never listed: a sweep of 10^8 items
plans, resumes and splits in memory independent of its size (``Seeds`` holds ranges). A batched
sweep (``batch`` > 1) renders each prompt's seeds ``batch`` at a time in one pipeline call, in
seed order (the last batch of a prompt holds what is left); batches are fixed by the plan alone,
so a resumed or K-process sweep renders every batch with the same seeds, so the same bits."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .seeds import Seeds
from .source import Source

FORMAT = "sdwidget-sweep"
VERSION = 1


@dataclass(frozen=True)
class Item:
    """One image of a sweep: the ``index``-th pair, prompt-major (all seeds of prompt 0 first)."""

    index: int
    prompt_index: int
    prompt: str
    seed: int

    @property
    def name(self) -> str:
        """The file stem of its image and record; readable, and unique within a sweep."""
        return f"p{self.prompt_index:03d}-s{self.seed}"


@dataclass(frozen=True)
class SweepPlan:
    """What to render, fully resolved; two processes given the same inputs build equal plans."""

    source: Source
    prompts: list[str]
    """The prompts swept (the recorded one when none were given)."""
    seeds: Seeds
    steps: int | None
    """``num_inference_steps`` for every item; ``None`` keeps the recorded count."""
    prompt_edits: bool
    """Replay the recorded prompt edits (same text, same progress) on every item."""
    model: str
    """Where the model was loaded from (or the given pipeline's name), as recorded in sweep.json."""
    dtype: str
    environment: dict[str, Any] | None = None
    """What changes pixels besides the inputs (``environment.environment``)."""
    variant: str | None = None
    revision: str | None = None
    batch: int = 1
    """The most seeds of one prompt rendered by one pipeline call."""

    @property
    def total(self) -> int:
        return len(self.prompts) * len(self.seeds)

    def item(self, index: int) -> Item:
        """The ``index``-th item, prompt-major (all seeds of prompt 0 first)."""
        j, i = divmod(index, len(self.seeds))
        return Item(index, j, self.prompts[j], self.seeds[i])

    def index(self, prompt_index: int, seed: int) -> int | None:
        """The item of a (prompt, seed) pair, or ``None`` if it is not in this sweep."""
        i = self.seeds.position(seed)
        return None if i is None or not 0 <= prompt_index < len(self.prompts) else prompt_index * len(self.seeds) + i

    def pending(self, done: set[int], rank: int = 0, size: int = 1) -> Iterator[range]:
        """The item indices of every ``size``-th batch (pipeline call) from ``rank`` among those with
        an item not in ``done``, in item order. A batch is up to ``batch`` consecutive seeds of one
        prompt, from its seed positions 0, ``batch``, 2 × ``batch``, ... (computed, not listed)."""
        seeds, batch = len(self.seeds), self.batch
        left = (i for i in range(self.total) if i not in done)
        if batch == 1:
            return (range(i, i + 1) for i in itertools.islice(left, rank, None, size))
        # A batch's pending items are consecutive: each batch once, by its start.
        starts = (start for start, _ in itertools.groupby(i - i % seeds % batch for i in left))
        return (range(s, min(s + batch, s - s % seeds + seeds)) for s in itertools.islice(starts, rank, None, size))

    def items(self, indices: Iterable[int] | None = None) -> Iterator[Item]:
        """The items (of ``indices``, else all), one at a time."""
        return (self.item(i) for i in (range(self.total) if indices is None else indices))

    def identity(self) -> dict[str, Any]:
        """What ``sweep.json`` holds: everything that shapes the images. A folder holding another
        identity holds another sweep, whose files must not be mixed with or overwritten by this one."""
        return {
            "format": FORMAT, "version": VERSION, "source": self.source.identity(), "model": self.model,
            "dtype": self.dtype, "prompts": self.prompts, "seeds": self.seeds.spec(), "steps": self.steps,
            "prompt_edits": self.prompt_edits, "environment": self.environment, "batch": self.batch,
            **({"variant": self.variant} if self.variant else {}),
            **({"revision": self.revision} if self.revision else {}),
        }  # fmt: skip


def differences(ours: dict[str, Any], theirs: Any) -> list[str]:
    """The top-level fields in which two sweep identities differ (all of them for a foreign file)."""
    if not isinstance(theirs, dict) or theirs.get("format") != FORMAT:
        return ["format"]
    # A folder swept before environments were recorded cannot say: it resumes (as it did).
    unknown = {"environment"} if "environment" not in theirs else set()
    # A folder swept before batches existed was swept one seed a call.
    return [key for key in ours if key not in unknown and ours[key] != theirs.get(key, 1 if key == "batch" else None)]
