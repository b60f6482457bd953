"""How far a sweep has got: a tqdm bar per process and/or a callback fed a one-line summary.

``tqdm.auto`` is what diffusers uses for its own bars: a text bar in a terminal, an ipywidgets
bar in a notebook. Each process draws its own at its own line (``position=rank``), so K bars
stack rather than overwrite one another. A callback gets a ``Progress`` after every item; its
``line`` is plain text a widget label (or a log) can show as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Progress:
    """One process's share of a sweep, as it stands."""

    rank: int
    processes: int
    total: int
    """Items this process owns in this call (those done before are not counted)."""
    done: int = 0
    failed: int = 0
    skipped: int = 0
    """Items of the whole sweep found finished at the start (resumed)."""
    started: float = field(default_factory=time.perf_counter)

    @property
    def rate(self) -> float:
        """Images per second since this process started rendering."""
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def line(self) -> str:
        """E.g. ``sweep 1/2: 5/6 images · 3.1 img/s · 1 s left · 6 resumed``."""
        left = (self.total - self.done) / self.rate if self.rate else float("nan")
        parts = [f"sweep {self.rank + 1}/{self.processes}: {self.done}/{self.total} images", f"{self.rate:.2f} img/s"]
        if self.done < self.total and left == left:
            parts.append(f"{left:.0f} s left")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} resumed")
        return " · ".join(parts)


class Reporter:
    """Feeds the bar and the callback; ``show``: draw a tqdm bar; ``callback``: ``f(progress)``."""

    def __init__(self, progress: Progress, show: bool, callback: Callable[[Progress], Any] | None) -> None:
        self.progress, self.callback, self.bar = progress, callback, None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=progress.total, desc=f"sweep {progress.rank + 1}/{progress.processes}",
                position=progress.rank, unit="img", dynamic_ncols=True,
            )  # fmt: skip

    def item(self, failed: bool) -> None:
        self.progress.done += 1
        self.progress.failed += failed
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.progress)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
