"""Which diffusers loop a pipeline runs: steering is granted per loop, never per class name."""

from __future__ import annotations

from typing import Any

import diffusers


def loop_of(pipe: Any, names: tuple[str, ...]) -> str | None:
    """Which of the diffusers pipelines ``names`` has the loop ``pipe`` runs: its own class, or a
    subclass that keeps the loop (one that overrides ``__call__`` runs a loop nobody checked)."""
    call = type(pipe).__call__
    return next((name for name in names if getattr(diffusers, name).__call__ is call), None)
