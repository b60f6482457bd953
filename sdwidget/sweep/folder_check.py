"""Before any work: refuse an output folder that holds another sweep's files, this sweep's swept
where its images come out otherwise, or anything that is not a sweep's. Read-only, so that every
process may run it."""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any

from ..gallery import read_bounded
from .environment import changes
from .files import OWN
from .inputs import SweepError
from .lock import NAME as LOCK
from .plan import differences

if TYPE_CHECKING:  # folder.py imports this module
    from .folder import SweepFolder

MAX_IDENTITY_BYTES = 8 << 20
"""The most a resumed ``sweep.json`` may hold (its prompts and the source's curve)."""


def check(folder: SweepFolder, identity: dict[str, Any]) -> None:
    """Refuse ``folder`` if it holds another sweep's files (or anything else) before any work."""
    path = folder.path
    if path.is_symlink() and not path.exists():
        raise SweepError(f"{path} is a symbolic link to nothing; give a folder for the sweep")
    if path.exists() and not path.is_dir():
        raise SweepError(f"{path} is a file, not a folder for a sweep")
    for inner in (folder.images, folder.records, path / "inputs"):  # a link: written outside --out
        if os.path.lexists(inner) and not stat.S_ISDIR(os.lstat(inner).st_mode):
            raise SweepError(f"{inner} is not a folder of its own (a link or a file): {OWN}")
    found = path / "sweep.json"
    if os.path.lexists(found):
        try:  # bounded, not through a link, never blocking on a FIFO
            theirs = json.loads(read_bounded(path, found.name, MAX_IDENTITY_BYTES))
        except (OSError, ValueError, RecursionError) as exc:
            reason = str(exc) if not isinstance(exc, RecursionError) else "it is nested too deeply"
            raise SweepError(f"{found} cannot be read ({reason}); is {path} a sweep's folder?") from None
        diff = differences(identity, theirs)
        if diff == ["environment"]:  # the same sweep, resumed where its pixels would differ
            what = "; ".join(changes(identity["environment"], theirs["environment"]))
            raise SweepError(
                f"{path} was swept where the images come out otherwise: {what}. Resume it with the "
                "same settings (--threads, --dtype, device, versions), or choose another --out folder"
            )
        if diff == ["batch"]:  # the same seeds, but grouped otherwise: another batch size gives other bits
            raise SweepError(
                f"{path} was swept in batches of {theirs.get('batch', 1)} seeds, this sweep asks for "
                f"{identity['batch']}; a batch's images are computed together, so resume it with "
                f"--batch {theirs.get('batch', 1)}, or choose another --out folder"
            )
        if diff:
            raise SweepError(
                f"{path} holds another sweep's files (its sweep.json differs in {', '.join(diff)}); "
                "choose another --out folder, or remove that one to start again"
            )
        return
    # Hidden names are temp files of a sweep that was interrupted before sweep.json existed.
    listed = path.iterdir() if path.exists() else iter(())
    others = sorted(p.name for p in listed if not p.name.startswith(".") and p.name != LOCK)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise SweepError(f"{path} is not empty and holds no sweep.json ({shown}); choose an empty folder")
