"""Wrapping a model's ``forward`` for one pipeline call, as the runner's taps do.

The wrapper goes on the instance, so only this model changes and only until it is undone. An
instance may already have its own ``forward`` (accelerate's offload hooks put one there): the
wrapper is built on ``module.forward`` read before the swap, and the undo puts the instance's own back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def swap_forward(module: Any, forward: Callable[..., Any]) -> Callable[[], None]:
    """Put ``forward`` on ``module`` (the instance); returns the undo."""
    own = module.__dict__.get("forward")
    module.forward = forward

    def undo() -> None:
        if own is None:
            del module.forward
        else:
            module.forward = own

    return undo
