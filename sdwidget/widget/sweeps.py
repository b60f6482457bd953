"""A sweep folder shown in the widget: its grid image, the cells on it and the item records.

The folder (``python -m sdwidget sweep ... --out DIR``) may come from a stranger, so it is read
the way a gallery is: only the files a sweep writes (``sweep.json``, ``runs.jsonl``,
``grid.json``, ``grid.png``), each a regular file directly inside the folder, reached through
no symbolic link, opened without following one and without blocking (a FIFO cannot hang the
kernel), each within a size limit, and the grid sized from its PNG header (the browser decodes
it, never the kernel). Anything else is one ``ValueError`` (``FileNotFoundError`` for missing
files) naming the folder and the problem. The kernel keeps the folder; the browser names items
by number only.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..gallery import read_bounded
from .sweep_record import SweepItem, parse_item

MAX_JSON_BYTES = 8 << 20  # sweep.json, grid.json
MAX_RECORDS_BYTES = 64 << 20  # runs.jsonl: some 30 kB a record at most, so thousands of items
MAX_ITEMS = 10_000
MAX_GRID_BYTES = 64 << 20
MAX_GRID_PIXELS = 1 << 26  # hundreds of 256-px cells; more is no picture a browser should decode


class Sweep:
    """A finished sweep read from ``folder``: ``items`` by item number, ``grid`` (PNG bytes) and
    ``cells`` (``{item, box: [x, y, w, h], caption}`` in grid pixels)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise FileNotFoundError(f"{self.folder} is not a folder; give the --out folder of a sweep")
        try:
            identity = _json(self._read("sweep.json", MAX_JSON_BYTES), "sweep.json")
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.folder} holds no sweep.json; is it a sweep's --out folder?") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.folder} is not a readable sweep: {_short(exc)}") from None
        if not isinstance(identity, dict) or identity.get("format") != "sdwidget-sweep":
            raise ValueError(f"{self.folder}/sweep.json is not a sweep's: its format is not sdwidget-sweep")
        try:
            text = self._read("runs.jsonl", MAX_RECORDS_BYTES).decode()
            layout = _json(self._read("grid.json", MAX_JSON_BYTES), "grid.json")
            self.grid = self._read("grid.png", MAX_GRID_BYTES)
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"{self.folder} holds no {Path(str(exc.filename)).name}: the sweep has not finished; "
                "run the same sweep command again to complete it"
            ) from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.folder} is not a readable sweep: {_short(exc)}") from None
        self.items = self._records(_records_of(text))
        self.size, self.cells = self._layout(layout)

    def _records(self, found: Iterator[str]) -> dict[int, SweepItem]:
        # Counted as they are found: 60 MB of one-byte lines split at once were 30 million strings.
        lines = list(itertools.islice(found, MAX_ITEMS + 1))
        if not lines or len(lines) > MAX_ITEMS:
            count = "more than " * (len(lines) > MAX_ITEMS) + str(min(len(lines), MAX_ITEMS))
            raise ValueError(f"{self.folder}/runs.jsonl holds {count} records; a sweep has 1 to {MAX_ITEMS}")
        items: dict[int, SweepItem] = {}
        for number, line in enumerate(lines, 1):
            try:
                item = parse_item(_json(line.encode(), "the line"))
            except (TypeError, ValueError) as exc:
                where = f"{self.folder}/runs.jsonl line {number}"
                raise ValueError(f"{where} is not a sweep record: {_short(exc)}") from None
            if item.item in items:
                raise ValueError(f"{self.folder}/runs.jsonl lists item {item.item} twice")
            items[item.item] = item
        return items

    def _layout(self, layout: Any) -> tuple[tuple[int, int], list[dict[str, Any]]]:
        """The grid's size (from its PNG header) and its cells, each inside it and naming a record."""
        from PIL import Image

        where = f"{self.folder}/grid.json"
        try:
            with Image.open(io.BytesIO(self.grid)) as image:
                size, kind = image.size, image.format
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"{self.folder}/grid.png is not an image: {_short(exc)}") from None
        if kind != "PNG" or size[0] * size[1] > MAX_GRID_PIXELS:
            raise ValueError(f"{self.folder}/grid.png must be a PNG of at most {MAX_GRID_PIXELS >> 20} Mpixels")
        cells = layout.get("items") if isinstance(layout, dict) else None
        if not isinstance(cells, list) or len(cells) != len(self.items):
            raise ValueError(f"{where} does not list one cell per record of runs.jsonl")
        out = []
        for number, cell in enumerate(cells, 1):
            cell = cell if isinstance(cell, dict) else {}
            box, caption = cell.get("box"), cell.get("caption", "")
            known = type(cell.get("item")) is int and cell["item"] in self.items
            if not known or not isinstance(caption, str) or not _inside(box, size):
                raise ValueError(f"{where}: cell {number} is not a cell of this sweep's grid")
            out.append({"item": cell["item"], "box": box, "caption": caption[:300]})
        return size, out

    def _read(self, name: str, limit: int) -> bytes:
        return read_bounded(self.folder, name, limit)

    def item(self, number: int) -> SweepItem:
        if number not in self.items:
            low, high = min(self.items), max(self.items)
            raise ValueError(f"Sweep item: this sweep has no item {number} (its items are {low} to {high})")
        return self.items[number]

    def state(self, key: int, selected: int | None = None) -> dict[str, Any]:
        """The ``sweep`` trait: small (no image, no path), so a saved notebook stays small."""
        record = None if selected is None else self.items[selected].summary()
        return {"key": key, "name": self.folder.name, "size": list(self.size), "cells": self.cells,
                "selected": selected, "record": record}  # fmt: skip


_RECORD_LINE = re.compile(r"^[^\S\n]*\S.*$", re.MULTILINE)
"""A line that is not blank; anchored at line starts, so finding them all is linear."""


def _records_of(text: str) -> Iterator[str]:
    """The non-blank lines of ``text``, one at a time (blank ones are skipped in C, not in a loop)."""
    return (match.group() for match in _RECORD_LINE.finditer(text))


def _json(data: bytes, name: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{name} is not JSON: {_short(exc)}") from None


def _inside(box: Any, size: tuple[int, int]) -> bool:
    if not isinstance(box, list) or len(box) != 4 or not all(type(v) is int for v in box):
        return False
    x, y, w, h = box
    return min(x, y) >= 0 and min(w, h) > 0 and x + w <= size[0] and y + h <= size[1]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
