"""How far a sweep has got, over all its processes: one line, from the main process.

Why one line: a bar per process (16 on two nodes) gave no overall count and no time left, and
a batch log filled with carriage returns. Each process writes its own counts to a tiny file in
the sweep folder (``.progress-RANK.json``, atomically, after every item); the main process sums
them and shows ``sweep: 40/200 images · 3.10 img/s · 52 s left`` on one line it rewrites in a
terminal, or as plain lines (at most one every ``interval`` seconds, and the last) when stderr
is not a terminal. A thread refreshes it while the main process waits for the others. A
``callback`` gets the same ``Progress`` (all processes counted) after each of its process's items.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..gallery import read_bounded
from .files import atomic_write


@dataclass
class Progress:
    """A sweep as it stands, all processes counted (as far as the folder shows them)."""

    rank: int
    processes: int
    total: int
    """Items to render in this call, all processes (those done before are not counted)."""
    done: int = 0
    failed: int = 0
    skipped: int = 0
    """Items found finished at the start (resumed)."""
    started: float = field(default_factory=time.perf_counter)

    @property
    def rate(self) -> float:
        """Images per second since rendering started."""
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def line(self) -> str:
        """E.g. ``sweep: 5/6 images · 3.10 img/s · 1 s left · 6 resumed · 2 processes``."""
        parts = [f"sweep: {self.done}/{self.total} images", f"{self.rate:.2f} img/s"]
        if self.done < self.total and self.rate:
            parts.append(f"{_duration((self.total - self.done) / self.rate)} left")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} resumed")
        if self.processes > 1:
            parts.append(f"{self.processes} processes")
        return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


class Reporter:
    """Counts this process's items into its file; the main process (``show``) prints the sum."""

    def __init__(self, progress: Progress, folder: Path, show: bool, callback: Callable[[Progress], Any] | None,
                 interval: float = 10.0, stream: TextIO | None = None) -> None:  # fmt: skip
        self.progress, self.folder, self.callback, self.interval = progress, folder, callback, interval
        self.stream = stream or sys.stderr
        self.show = show and progress.rank == 0
        self.tty = self.stream.isatty()
        self.mine, self.printed, self.lock, self.stop = [0, 0], 0.0, threading.Lock(), threading.Event()
        self._save()
        self.thread = threading.Thread(target=self._refresh, daemon=True) if self.show else None
        if self.thread is not None:
            self.thread.start()

    def item(self, failed: bool) -> None:
        self.mine[0] += 1
        self.mine[1] += failed
        self._save()
        self._update()
        if self.callback is not None:
            self.callback(self.progress)

    def close(self) -> None:
        """After every process ended: the last count, and the terminal's line ended."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.show:
            self._update(last=True)
            if self.tty:
                self.stream.write("\n")
        for rank in range(self.progress.processes) if self.progress.rank == 0 else ():
            (self.folder / f".progress-{rank}.json").unlink(missing_ok=True)

    def _save(self) -> None:
        data = json.dumps({"done": self.mine[0], "failed": self.mine[1]}).encode()
        atomic_write(self.folder / f".progress-{self.progress.rank}.json", data)

    def _update(self, last: bool = False) -> None:
        with self.lock:
            done, failed = self.mine
            for rank in range(self.progress.processes):
                if rank != self.progress.rank:
                    counts = _read(self.folder / f".progress-{rank}.json")
                    done, failed = done + counts[0], failed + counts[1]
            self.progress.done, self.progress.failed = done, failed
            if not self.show:
                return
            now = time.monotonic()
            if self.tty:
                self.stream.write("\r" + self.progress.line.ljust(79))
            elif last or now - self.printed >= self.interval:
                self.stream.write(self.progress.line + "\n")
                self.printed = now
            self.stream.flush()

    def _refresh(self) -> None:
        while not self.stop.wait(min(self.interval, 1.0)):
            self._update()


def _read(path: Path) -> tuple[int, int]:
    try:  # through no link, never blocking: the folder may have been tampered with
        counts = json.loads(read_bounded(path.parent, path.name, 200))
        return int(counts["done"]), int(counts["failed"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0  # not written yet, or not visible from this node
