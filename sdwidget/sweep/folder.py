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
from pathlib import Path
from typing import Any

from ..gallery import read_bounded
from .inputs import SweepError
from .plan import Item, differences

MAX_RECORDS_BYTES = 64 << 20
"""The most ``load_records`` reads: about 30 kB a record, so thousands of items."""

DONE = ("finished", "stopped")
"""Statuses whose image is kept; a failed item is recorded but rendered again on resume."""


def atomic_write(path: Path, data: bytes) -> None:
    """Readers (and a resumed sweep) see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # the pid keeps two writers apart
    try:
        with open(tmp, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class SweepFolder:
    """Reads and writes ``out``; ``check`` is read-only so that every process may run it."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.path = Path(out).expanduser().absolute()
        self.images, self.records = self.path / "images", self.path / "records"

    def check(self, identity: dict[str, Any]) -> None:
        """Refuse a folder that holds another sweep's files (or anything else) before any work."""
        if self.path.exists() and not self.path.is_dir():
            raise SweepError(f"{self.path} is a file, not a folder for a sweep")
        found = self.path / "sweep.json"
        if found.is_file():
            try:
                theirs = json.loads(found.read_bytes())
            except (OSError, ValueError) as exc:
                raise SweepError(f"{found} cannot be read ({exc}); is {self.path} a sweep's folder?") from None
            diff = differences(identity, theirs)
            if diff:
                raise SweepError(
                    f"{self.path} holds another sweep's files (its sweep.json differs in {', '.join(diff)}); "
                    "choose another --out folder, or remove that one to start again"
                )
            return
        # Hidden names are temp files of a sweep that was interrupted before sweep.json existed.
        others = sorted(p.name for p in self.path.iterdir() if not p.name.startswith(".")) if self.path.exists() else []
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise SweepError(f"{self.path} is not empty and holds no sweep.json ({shown}); choose an empty folder")

    def claim(self, identity: dict[str, Any]) -> None:
        """Main process only, after every process has checked: write the identity, clear the
        temp files an interrupted sweep left (no process writes items yet), make the folders."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / "sweep.json").exists():  # first, so no folder of ours is ever without it
            atomic_write(self.path / "sweep.json", json.dumps(identity, indent=1).encode())
        self.images.mkdir(exist_ok=True)
        self.records.mkdir(exist_ok=True)
        for folder in (self.path, self.images, self.records):
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)

    def record(self, item: Item) -> dict[str, Any] | None:
        """The item's record if it is done (record and image both there), else ``None``."""
        try:
            record = json.loads((self.records / f"{item.name}.json").read_bytes())
        except (OSError, ValueError):
            return None  # never written, or damaged: rendered again
        if not isinstance(record, dict) or record.get("item") != item.index:
            return None
        if record.get("status") in DONE and not (self.path / str(record.get("image"))).is_file():
            return None
        return record

    def done(self, items: list[Item]) -> set[int]:
        return {item.index for item in items if (r := self.record(item)) is not None and r.get("status") in DONE}

    def write(self, item: Item, png: bytes | None, record: dict[str, Any]) -> None:
        """The image first, then the record that marks the item done."""
        if png is not None:
            atomic_write(self.images / f"{item.name}.png", png)
        atomic_write(self.records / f"{item.name}.json", json.dumps(record).encode())

    def collect(self, items: list[Item]) -> list[dict[str, Any]]:
        """Every item's record, in item order (items never rendered are left out)."""
        return [r for item in items if (r := self.record(item)) is not None]

    def merge(self, records: list[dict[str, Any]]) -> Path:
        """Main process only: ``runs.jsonl``, one record a line, in item order."""
        path = self.path / "runs.jsonl"
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in records).encode())
        return path


def load_records(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a finished sweep folder (its ``runs.jsonl``); each replays with
    ``runner.replay(sdwidget.sweep.load_source(record))``."""
    path = Path(out).expanduser() / "runs.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent} holds no runs.jsonl; is it a finished sweep's folder?")
    text = read_bounded(path.parent, path.name, MAX_RECORDS_BYTES).decode("utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]
