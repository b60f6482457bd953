"""A finished sweep's records read back (``runs.jsonl``): bounded in bytes and in records, each a JSON object.

The folder may be a stranger's: the file is read through no link and within a size limit, and
its records are counted as they are found, before any is parsed, so neither a long file of
short lines nor a deeply nested one costs more than the limit."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..gallery import read_bounded

MAX_RECORDS_BYTES = 64 << 20
"""The most ``load_records`` reads: about 30 kB a record, so thousands of items."""
MAX_RECORDS = 100_000
"""The most records ``load_records`` parses: 64 MiB of them are at least 640 bytes each."""


def load_records(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a finished sweep folder (its ``runs.jsonl``); each replays with
    ``runner.replay(sdwidget.sweep.load_source(record))`` (an image-input sweep's from its file,
    ``load_source(out / "records" / f"{record['name']}.json")``, which finds its images in
    ``out/inputs``). Each line must be a JSON object; ``ValueError`` names the line that is not
    (its fields are checked by ``load_source``)."""
    path = Path(out).expanduser() / "runs.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent} holds no runs.jsonl; is it a finished sweep's folder?")
    text = read_bounded(path.parent, path.name, MAX_RECORDS_BYTES).decode("utf-8")
    # Counted as found, before any is parsed: 64 MiB of "{}" lines would be 20 million dicts.
    lines = list(itertools.islice(_lines(text), MAX_RECORDS + 1))
    if len(lines) > MAX_RECORDS:
        raise ValueError(f"{path} holds more than {MAX_RECORDS} records; is it a sweep's runs.jsonl?")
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            reason = str(exc)[:200] or "it is nested too deeply"
            raise ValueError(f"{path} line {number} is not a JSON record: {reason}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path} line {number} is not a JSON record (it holds a {type(record).__name__})")
        records.append(record)
    return records


_LINE = re.compile(r"^[^\S\n]*\S.*$", re.MULTILINE)
"""A line that is not blank; anchored at line starts, so finding them all is linear."""


def _lines(text: str) -> Iterator[str]:
    """The non-blank lines of ``text``, one at a time."""
    return (match.group() for match in _LINE.finditer(text))
