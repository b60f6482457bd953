"""``DIR/sweep.lock``: one sweep at a time in a folder, with its owner written in the lock.

Why: two launches into one folder both rendered the pending items, and the second one's
start-up cleared the first one's temp files. The main process creates the lock with
``O_CREAT | O_EXCL`` (atomic on local and NFSv3+ filesystems) before it writes anything, and
removes it when the sweep ends, however it ends. A lock whose owner is a dead process on this
host is stale (a SIGKILLed sweep) and taken over; one from another host cannot be judged from
here, so the refusal says whose it is and how to remove it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from ..gallery import read_bounded
from .inputs import SweepError

NAME = "sweep.lock"


def owner() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = "?"
    return {"host": socket.gethostname(), "pid": os.getpid(), "user": user,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)[:300]}  # fmt: skip


class FolderLock:
    """Held by the main process from before ``sweep.json`` is written until the sweep ends."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.path, self.held, self.created = folder, folder / NAME, False, False

    def acquire(self) -> None:
        self.created = not self.folder.exists()  # removed again if the sweep ends having written nothing
        self.folder.mkdir(parents=True, exist_ok=True)
        mine = owner()
        for _ in range(2):  # a second try only after removing a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                theirs = self._read()
                if not _stale(theirs):
                    raise SweepError(_busy(self.folder, self.path, theirs)) from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as file:
                json.dump(mine, file)
            self.held = True
            return
        raise SweepError(f"{self.path} could not be taken (another sweep starts there); try again")

    def release(self) -> None:
        if self.held and self._read().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
            if self.created and not any(self.folder.iterdir()):
                self.folder.rmdir()
        self.held = False

    def _read(self) -> dict[str, Any]:
        try:
            found = json.loads(read_bounded(self.folder, NAME, 1 << 16))
        except (OSError, ValueError, RecursionError):
            return {}
        return found if isinstance(found, dict) else {}


def _stale(theirs: dict[str, Any]) -> bool:
    """Its owner is a process of this host that no longer exists."""
    pid = theirs.get("pid")
    if theirs.get("host") != socket.gethostname() or type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _busy(folder: Path, path: Path, theirs: dict[str, Any]) -> str:
    who = (
        f"process {theirs.get('pid')} on {theirs.get('host')} "
        f"(user {theirs.get('user')}, since {theirs.get('started')})"
        if theirs
        else "an unknown process (the lock file cannot be read)"
    )
    return (
        f"{folder} is in use by another sweep: {who} holds {path.name}; wait for it to end or choose another "
        f"--out folder (if no sweep is running there, remove {path})"
    )
