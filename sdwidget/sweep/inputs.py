"""What a sweep is asked to render, checked before any model is loaded: seeds and prompts.

Every problem raises ``SweepError`` (a ``ValueError``) with a message that says what to change,
so a 200-image job never dies on its first item, or after its model took a minute to load.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core import validate
from .seeds import Seeds, overlap

MAX_ITEMS = 1_000_000
"""The most seeds an explicit list may hold (ranges are not listed, so have no limit)."""
MAX_PARTS = 1_000
MAX_PROMPTS_BYTES = 4 << 20
REPEATED = "a seed is given twice; each (prompt, seed) pair is rendered once"


class SweepError(ValueError):
    """Bad input to a sweep, found before any work started."""


def parse_seeds(seeds: Any) -> Seeds:
    """``"0:200"`` (start:stop[:step], stop excluded), ``"7"``, ``"1,5,10:20"``, an int, a ``range``
    or any iterable of ints. Empty, repeated or out-of-range seeds are refused. Ranges stay ranges
    (``Seeds``): ``range(10**12)`` costs no memory; an explicit list is capped at ``MAX_ITEMS``."""
    if isinstance(seeds, str):
        parts = seeds.replace(" ", "").split(",")
        if len(parts) > MAX_PARTS:
            raise SweepError(f"seeds: at most {MAX_PARTS} comma-separated parts; use ranges like 0:200")
        spans = [_span(part, seeds) for part in parts]
        _no_repeats(spans)
    elif isinstance(seeds, range):
        spans = [seeds] if len(seeds) else []
    elif isinstance(seeds, int):
        spans = [range(seeds, seeds + 1)]
    elif isinstance(seeds, Iterable):
        spans = _listed(seeds)
    else:
        raise SweepError(f"seeds must be a range like '0:200' or a list of ints, got {type(seeds).__name__}")
    if not spans:
        raise SweepError("the seed range is empty: there is nothing to sweep")
    try:
        for span in spans:  # a range's ends bound all of it
            validate.seed(span[0])
            validate.seed(span[-1])
    except (TypeError, ValueError) as exc:
        raise SweepError(str(exc)) from None
    return Seeds(spans)


def _span(part: str, seeds: str) -> range:
    try:
        bounds = [int(b) for b in part.split(":")]
    except ValueError:
        raise SweepError(f"seeds must look like 0:200, 7 or 1,5,10:20; got {seeds!r:.60}") from None
    if len(bounds) > 3:
        raise SweepError(f"a seed range is start:stop[:step]; got {part!r:.40}")
    if len(bounds) == 3 and bounds[2] == 0:
        raise SweepError(f"the seed range {part} has a step of 0; give a step of 1 or more (0:10:2)")
    if len(bounds) == 1:
        return range(bounds[0], bounds[0] + 1)
    span = range(*bounds)
    if len(span) == 0:
        raise SweepError(f"the seed range {part} is empty (the stop is excluded: 0:6 is 0..5)")
    return span


def _listed(seeds: Iterable[Any]) -> list[range]:
    """An explicit iterable, read up to ``MAX_ITEMS`` (a generator may not end), runs of
    consecutive seeds merged into ranges."""
    listed = list(itertools.islice(iter(seeds), MAX_ITEMS + 1))
    if len(listed) > MAX_ITEMS:
        raise SweepError(f"a list of more than {MAX_ITEMS} seeds; give a range (range(n), '0:n') instead")
    try:
        values = [validate.seed(s) for s in listed]
    except (TypeError, ValueError) as exc:
        raise SweepError(str(exc)) from None
    if len(set(values)) != len(values):
        raise SweepError(REPEATED)
    spans: list[range] = []
    for value in values:
        last = spans[-1] if spans else None
        if last is not None and last.step == 1 and value == last.stop:
            spans[-1] = range(last.start, value + 1)
        else:
            spans.append(range(value, value + 1))
    return spans


def _no_repeats(spans: list[range]) -> None:
    """Refuse a seed given twice, without listing the seeds: single seeds by a set, ranges by
    an exact overlap test against each other and against the singles."""
    singles = [s.start for s in spans if len(s) == 1]
    longer = [s for s in spans if len(s) > 1]
    repeated = len(set(singles)) != len(singles)
    repeated = repeated or any(overlap(a, b) for i, a in enumerate(longer) for b in longer[i + 1 :])
    repeated = repeated or any(seed in span for span in longer for seed in singles)
    if repeated:
        raise SweepError(REPEATED)


def read_prompts(prompts: Any) -> list[str] | None:
    """A list of prompts, or a UTF-8 text file of one prompt a line (blank lines skipped);
    ``None`` keeps the recorded prompt. A plain ``str`` is refused: a prompt or a file name?"""
    if prompts is None:
        return None
    if isinstance(prompts, os.PathLike):
        path = Path(prompts).expanduser()
        data = read_file(path, MAX_PROMPTS_BYTES, "the prompts file")
        try:
            text = data.decode("utf-8-sig")  # a BOM from Windows editors is not part of the first prompt
        except UnicodeDecodeError:
            raise SweepError(f"the prompts file {path} is not UTF-8 text (one prompt a line)") from None
        if "\x00" in text or any(ord(c) < 32 and c not in "\t\r\n" for c in text):
            raise SweepError(f"the prompts file {path} holds control characters; is it a text file?")
        prompts, where = [line.strip() for line in text.splitlines() if line.strip()], str(path)
    elif isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise SweepError("prompts must be a list of strings or a pathlib.Path to a text file of one prompt a line")
    else:
        where = "the prompts list"
    try:
        prompts = [validate.prompt("prompt", p) for p in prompts]
    except (TypeError, ValueError) as exc:
        raise SweepError(f"{where}: {exc}") from None
    if not prompts:
        raise SweepError(f"{where} holds no prompts")
    return prompts


def read_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a file the caller named (a link to it is theirs to make), refused with a
    ``SweepError`` saying why unless it is a regular file of at most ``limit`` bytes. Opened
    without blocking, so a FIFO is refused rather than waited on (``is_file`` called it missing)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SweepError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise SweepError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
            raise SweepError(f"{what} {path} is {kind}; give a regular file")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise SweepError(f"{what} {path} is larger than {limit >> 20} MiB")
    return data
