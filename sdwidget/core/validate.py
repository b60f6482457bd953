"""Checks for each value that reaches a run, whether typed in Python or sent by a browser.

Each check returns the cleaned value or raises ``TypeError``/``ValueError`` with a message that
says what to change, so nothing bad ever reaches the background thread. A prompt change matched
to a batch's rows is ``prompt_rows.py``; the pipeline itself, ``drivable.py``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

MAX_STEPS = 1000
# Iterations a run's loop may make: a second-order scheduler (Heun, KDPM2) runs 2n − 1 for n steps.
MAX_LOOP = 2 * MAX_STEPS - 1
MAX_GUIDANCE = 100.0
MAX_PROMPT_CHARS = 4000
MAX_SIDE = 4096
MAX_SEED = 2**63 - 1


def shown(value: Any) -> str:
    """A short, safe rendering of any value for a message: never Python's own limits or a
    60-kB prompt (``repr`` of a 5000-digit int raises, a hostile ``__repr__`` may too)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a number too large to use"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        return f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def guidance(value: Any, name: str = "guidance", low: float = 0.0, high: float = MAX_GUIDANCE) -> float:
    """A finite guidance scale in [0, 100], or another knob's value in its own [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {shown(value)}")
    try:
        value = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {shown(value)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def integer(name: str, value: Any, low: int, high: int) -> int:
    """An integer (Python's or numpy's; not a bool, not a float) in [low, high], as an ``int``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {shown(value)}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {shown(value)}")
    return value


MAX_PACE = 1000.0
MIN_PACE = 0.001
"""One step in about 17 minutes: slower is no live view. A pace near 1e-10 made a wait longer
than a thread can sleep (``OverflowError`` in the run's thread)."""


def pace(value: Any, name: str = "pace") -> float:
    """Steps per second, from ``MIN_PACE`` to ``MAX_PACE``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{name} must be a number of steps per second or None, got {type(value).__name__} {shown(value)}"
        )
    try:
        value = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"{name} must be at most {MAX_PACE:g} steps per second, got {shown(value)}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_PACE):
        raise ValueError(f"{name} must be more than 0 and at most {MAX_PACE:g} steps per second, got {value:g}")
    if value < MIN_PACE:
        raise ValueError(f"{name} must be at least {MIN_PACE:g} steps per second (None: full speed), got {value:g}")
    return value


def steps(value: Any, name: str = "num_inference_steps") -> int:
    return integer(name, value, 1, MAX_STEPS)


def seed(value: Any, name: str = "seed") -> int:
    return integer(name, value, 0, MAX_SEED)


def seeds(value: Any, name: str = "seed") -> int | list[int]:
    """A seed, or a list of seeds with one per image of a batch (each image's noise drawn from its
    own generator, as diffusers takes a list of them): at most ``MAX_BATCH`` × ``MAX_BATCH``."""
    if not isinstance(value, list | tuple):
        return seed(value, name)
    if not 1 <= len(value) <= MAX_BATCH * MAX_BATCH:
        raise ValueError(f"{name} must be one seed or a list of 1 to {MAX_BATCH * MAX_BATCH} seeds, got {len(value)}")
    return [seed(item, f"{name}[{i}]") for i, item in enumerate(value)]


def side(name: str, value: Any, multiple: int) -> int:
    """An image side that the VAE and the UNet can both divide."""
    value = integer(name, value, multiple, MAX_SIDE)
    if value % multiple:
        lower, upper = value - value % multiple, value - value % multiple + multiple
        raise ValueError(f"{name} must be a multiple of {multiple}, got {value}; try {lower} or {upper}")
    return value


def prompt(name: str, value: Any, *, optional: bool = False) -> str | None:
    """A text prompt of at most ``MAX_PROMPT_CHARS`` characters."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > MAX_PROMPT_CHARS:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {MAX_PROMPT_CHARS}")
    try:  # a browser's string may hold half of a surrogate pair, which no tokenizer can encode
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} holds a lone surrogate (U+{ord(value[exc.start]):04X}) at character {exc.start + 1}; "
            "it is not text (half of an emoji's pair?)"
        ) from None
    return value


MAX_BATCH = 64


def prompts(name: str, value: Any, *, optional: bool = False) -> str | list[str] | None:
    """A prompt, or a list of 1 to ``MAX_BATCH`` prompts (one image each)."""
    if not isinstance(value, list | tuple):
        return prompt(name, value, optional=optional)
    if not 1 <= len(value) <= MAX_BATCH:
        raise ValueError(f"{name} must hold 1 to {MAX_BATCH} prompts, got {len(value)}")
    return [prompt(f"{name}[{i}]", text) for i, text in enumerate(value)]  # type: ignore[misc]


def per_step(name: str, value: Any) -> list:
    """A list with at most one item per step a run may make (``MAX_LOOP``); its items are checked by the caller."""
    if not isinstance(value, list) or len(value) > MAX_LOOP:
        raise TypeError(f"{name} must be a list of at most {MAX_LOOP} values")
    return value
