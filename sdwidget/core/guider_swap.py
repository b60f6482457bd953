"""Swapping a pipeline's guider between runs (``Runner.set_guider``).

Where a family's guidance is a guider component (a modular pipeline's), the family swaps it and
lists the guiders it can build by name (``Swaps``); the runner's knobs are read off the new one,
so they follow it. Between runs only: while a run goes (running or held) the swap is refused with
the family's reason in words, since a run records one guider and repeats it in its replays and
branches. The runner's lock is held around the check and the swap, so no run starts in between.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from ..families import Family
from .run import Run


@runtime_checkable
class Swaps(Protocol):
    """A family whose guider can be swapped."""

    def guider_choices(self) -> dict[str, str]:
        """The guiders it builds by name: class name → the short name a person knows."""
        ...

    def guider_name(self) -> str:
        """The class name of the guider the next run takes."""
        ...

    def set_guider(self, guider: Any, config: dict[str, Any]) -> None:
        """Swap to ``guider`` (built, or a name of ``guider_choices`` built with ``config``)."""
        ...

    def build_guider(self, name: str, config: dict[str, Any]) -> Any:
        """The guider ``name`` (of ``guider_choices``) built with ``config``, not swapped in."""
        ...

    def swap_refusal(self, to: str) -> str:
        """Why the guider cannot become ``to`` while a run goes, in words."""
        ...


def choices(family: Family) -> dict[str, str]:
    """The guiders ``family`` can swap to (class name → short name); empty where it has no guider."""
    return family.guider_choices() if isinstance(family, Swaps) else {}


def current(family: Family) -> str:
    """The class name of ``family``'s guider; empty where it has none."""
    return family.guider_name() if isinstance(family, Swaps) else ""


def swap(family: Family, run: Run | None, guider: Any, config: dict[str, Any]) -> None:
    """Swap ``family``'s guider, or refuse: a family with none (``TypeError``), a run going
    (``RuntimeError``, with the reason), a guider it does not steer (``ValueError``)."""
    if not isinstance(family, Swaps):
        raise TypeError(
            f"{type(family.pipe).__name__} has no guider to swap: its guidance is steered as its knobs "
            "(a modular pipeline's guider can be swapped)"
        )
    if run is not None and not run.done:
        to = guider if isinstance(guider, str) else type(guider).__name__
        raise RuntimeError(
            f"the guider cannot be swapped while run #{run.id} is {run.status.value}: "
            f"{family.swap_refusal(to)}. Swap it once the run has ended (Stop, or wait for it)"
        )
    family.set_guider(guider, config)


def recorded(family: Family, params: dict[str, Any]) -> Any | None:
    """The guider a run was recorded with, built again, where it is not the pipeline's now: a
    replay swaps to it (``Runner.replay``). ``None`` where the pipeline has it already, where the
    record names none, and where it cannot be built again to the same configuration (a PAG's
    layers are recorded as text): the replay then warns that it will differ (``differences``)."""
    name, config = params.get("guider"), params.get("guider_config")
    if not isinstance(family, Swaps) or not isinstance(name, str) or not isinstance(config, dict):
        return None
    if name == current(family) or name not in choices(family):
        return None
    given = {key: value for key, value in config.items() if not key.startswith("_")}
    try:
        guider = family.build_guider(name, given)
    except (TypeError, ValueError):
        return None
    rebuilt = json.loads(json.dumps(dict(guider.config), default=str))
    same = {key: value for key, value in rebuilt.items() if not key.startswith("_")} == given
    return guider if same else None
