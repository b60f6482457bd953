"""Writing and checking a sweep's files: atomically, and never through a link."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

OWN = "a sweep writes only inside its --out folder"


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


def regular(path: Path) -> bool:
    """A regular file at ``path`` itself, not reached through a symbolic link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
