"""A sweep's output folder: its identity, one image and one record per item, the merged records.

    DIR/sweep.json            the sweep's identity (``SweepPlan.identity``), written first
    DIR/images/NAME.png       an item's final image, metadata in its PNG chunks
    DIR/records/NAME.json     its record, written after the image: the record marks the item done
    DIR/runs.jsonl            every record in item order, one a line, rebuilt at the end
    DIR/grid.png, grid.json   the captioned contact sheet of all finals and where each item sits

Why per-item files rather than appending to ``runs.jsonl`` as items finish: appends from K
processes could interleave, and a line appended before a crash could name an image never
written. One file per item, written by the one process that owns the item, atomically (a temp
name in the same folder, then ``os.replace``), needs no lock and makes resuming a matter of
looking. ``runs.jsonl`` is then merged by the main process alone, in item order, so it reads
the same whatever the number of processes (timings aside).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from ..gallery import read_bounded
from . import folder_check
from .files import OWN, atomic_write, regular
from .inputs import SweepError
from .plan import Item, SweepPlan

MAX_RECORD_BYTES = 8 << 20
"""The most an item's record may hold (its params and curve; a resumed folder may be crafted)."""

RECORD_NAME = re.compile(r"p(\d{3,9})-s(\d{1,20})\.json")
DONE = ("finished", "stopped")
"""Statuses whose image is kept; a failed item is recorded but rendered again on resume."""


class SweepFolder:
    """Reads and writes ``out``; ``check`` is read-only so that every process may run it."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.path = Path(out).expanduser().absolute()
        self.images, self.records = self.path / "images", self.path / "records"

    def check(self, identity: dict[str, Any]) -> None:
        """Refuse a folder that holds another sweep's files (or anything else) before any work (``folder_check.py``)."""
        folder_check.check(self, identity)

    def claim(self, identity: dict[str, Any]) -> None:
        """Main process only, after every process has checked: write the identity, clear the
        temp files an interrupted sweep left (no process writes items yet), make the folders."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / "sweep.json").exists():  # first, so no folder of ours is ever without it
            atomic_write(self.path / "sweep.json", json.dumps(identity, indent=1).encode())
        for folder in (self.images, self.records):
            folder.mkdir(exist_ok=True)
            if not stat.S_ISDIR(os.lstat(folder).st_mode):  # made a link since check(): never write through it
                raise SweepError(f"{folder} is not a folder of its own (a link or a file): {OWN}")
        for folder in (self.path, self.images, self.records):
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
        for counts in self.path.glob(".progress-*.json"):  # an interrupted sweep's counts
            counts.unlink(missing_ok=True)

    def record(self, item: Item) -> dict[str, Any] | None:
        """The item's record if it is done (record and image both there), else ``None``.
        A record naming an image other than its own is refused: a sweep never wrote it."""
        try:
            record = json.loads(read_bounded(self.records, f"{item.name}.json", MAX_RECORD_BYTES))
        except (OSError, ValueError, RecursionError):
            return None  # never written, damaged, or not a regular file: rendered again (over it)
        if not isinstance(record, dict) or record.get("item") != item.index:
            return None
        image = record.get("image")
        if image is not None and image != f"images/{item.name}.png":
            raise SweepError(
                f"{self.records / item.name}.json names the image {str(image)[:80]!r}, not images/{item.name}.png: "
                "a sweep did not write it; remove it to render the item again"
            )
        mine = (record.get("name"), record.get("seed"), record.get("prompt")) == (item.name, item.seed, item.prompt)
        if not mine or record.get("status") not in (*DONE, "failed"):
            return None  # not this item's outcome: rendered again
        if record["status"] in DONE and not regular(self.images / f"{item.name}.png"):
            return None
        return record

    def done(self, plan: SweepPlan) -> set[int]:
        """The items finished here, found by listing ``records/`` (never by trying every item:
        a sweep of 10^8 items resumes in time and memory of the part that is done)."""
        found: set[int] = set()
        with contextlib.suppress(FileNotFoundError), os.scandir(self.records) as entries:
            for entry in entries:
                match = RECORD_NAME.fullmatch(entry.name)
                index = None if match is None else plan.index(int(match[1]), int(match[2]))
                if index is None or f"{(item := plan.item(index)).name}.json" != entry.name:
                    continue
                if (record := self.record(item)) is not None and record.get("status") in DONE:
                    found.add(index)
        return found

    def write(self, item: Item, png: bytes | None, record: dict[str, Any]) -> None:
        """The image first, then the record that marks the item done."""
        if png is not None:
            atomic_write(self.images / f"{item.name}.png", png)
        atomic_write(self.records / f"{item.name}.json", json.dumps(record).encode())

    def collect(self, plan: SweepPlan) -> tuple[list[dict[str, Any]], list[Item]]:
        """Main process only: every item's record as the folder holds it, in item order, and
        the items that have none (never rendered, or written where this process cannot see)."""
        records, missing = [], []
        for item in plan.items():
            record = self.record(item)
            if record is None:
                missing.append(item)
            else:
                records.append(record)
        return records, missing

    def merge(self, records: list[dict[str, Any]]) -> Path:
        """Main process only: ``runs.jsonl``, one record a line, in item order."""
        path = self.path / "runs.jsonl"
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in records).encode())
        return path
