"""The Guider select in the widget: a modular pipeline's guider swapped between runs.

``guiders`` lists the guiders the model's family builds by name, ``guider`` is the pipeline's. A
swap (the ``guider`` message, or ``set_guider`` from Python) goes to ``Runner.set_guider``, which
refuses it while a run goes, with the reason. The knobs then follow the new guider: ``knobs`` and
``guidance_kind`` are its own, and ``knob_values`` keeps the values asked for of the knobs both
guiders have (rescale, the interval's start and stop), the new ones at the guider's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import Runner, guider_swap, validate

CONTROL = "Guider"


def arguments(content: dict[str, Any]) -> dict[str, Any]:
    """The ``guider`` message's checked field: a class name, as short text (the kernel checks it is offered)."""
    name = content.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise TypeError(f"{CONTROL}: a guider's name must be short text, got {validate.shown(name)}")
    return {"name": name}


class GuiderChoice:
    """``SamplerWidget``'s guider: the choices offered and the swap."""

    knobs: list[dict[str, Any]]
    knob_values: dict[str, float]
    guidance: float
    guider: str
    guiders: list[dict[str, Any]]
    _apply: Callable[[dict[str, Any]], None]

    @property
    def _live(self) -> Runner:
        """The widget's runner (``SamplerWidget._live``, which refuses a widget with no pipeline)."""
        raise NotImplementedError

    def _init_guider(self, runner: Runner | None) -> None:
        if runner is not None:
            self.guiders = [{"name": n, "label": label} for n, label in guider_swap.choices(runner.family).items()]
            self.guider = guider_swap.current(runner.family)

    def set_guider(self, guider: Any, **config: Any) -> str:
        """Swap the pipeline's guider for the next runs (``Runner.set_guider``: a built guider, or
        a class name built with ``config``; named, it starts at the Guidance asked for) and show its
        knobs. Returns the guider's class name."""
        runner = self._live
        if isinstance(guider, str):
            config.setdefault("guidance_scale", self.guidance)
        try:
            knobs = runner.set_guider(guider, **config)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise type(exc)(f"{CONTROL}: {exc}") from None
        asked = {knob["name"]: self.knob_values.get(knob["name"], knob["default"]) for knob in knobs[1:]}
        name = guider_swap.current(runner.family)
        self._apply({"knobs": knobs, "guidance_kind": knobs[0]["kind"], "knob_values": asked, "guider": name})
        return name
