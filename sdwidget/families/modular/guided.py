"""Modular pipelines guided by a guider component (SDXL's, SD3's): every per-step setting of the
guider is a knob (``guiders.py``), set on its attributes between steps, and the guider can be
swapped between runs (``swap.py``). The guider decides each step how many predictions it needs,
so CFG going off and on needs nothing more than its scale."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from ..steering import Embeddings, Knob, OutputTap, Steering
from . import guiders
from .family import ModularLoops
from .loop import PROMPT_TENSORS, swap_prompt
from .swap import GuiderSwap


class GuiderSwitch:
    """The step hook's switch: knob values go onto the guider, a prompt edit into the block state."""

    names = list(PROMPT_TENSORS)

    def __init__(self, guider: Any, later: list[str]) -> None:
        """``later``: the knobs after the scale, which a run may start with as arguments."""
        self.guider, self.later = guider, later

    def begin(self, guidance: float, call: dict[str, Any]) -> dict[str, Any]:
        """The run's first settings onto the guider (its knobs taken out of ``call``); no argument to add."""
        self.guider.guidance_scale = guidance
        for name in self.later:
            if name in call:
                guiders.put(self.guider, name, call.pop(name))
        return {}

    def scale(self) -> float:
        return float(self.guider.guidance_scale)

    def after(self, state: Any) -> None:
        """Nothing: the guider reads its own attributes, the loop the block state's tensors."""

    def active(self, pipe: Any) -> bool:
        """Whether the step that just ran combined more than one prediction."""
        return self.guider.num_conditions > 1

    def apply(self, pipe: Any, kwargs: dict, batch: int, value: float) -> None:
        self.guider.guidance_scale = value

    def value(self, pipe: Any, name: str) -> float:
        return guiders.value(self.guider, name)

    def set(self, pipe: Any, name: str, value: float) -> None:
        guiders.put(self.guider, name, value)

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        swap_prompt(kwargs, embeddings, negative)


class GuidedModular(GuiderSwap, ModularLoops):
    """A modular family whose loop combines predictions through ``pipe.guider``; its guider swapped
    between runs (``Runner.set_guider``)."""

    @classmethod
    def unsteerable(cls, pipe: Any) -> str | None:
        why = cls.guider_refusal(pipe.components.get("guider"))
        return f"{type(pipe).__name__}'s {why}" if why else None

    def knobs(self) -> list[Knob]:
        return guiders.knobs(self.pipe.guider)

    def switch(self) -> GuiderSwitch:
        return GuiderSwitch(self.pipe.guider, [knob.name for knob in self.knobs()[1:]])

    def no_lens(self) -> str:
        return guiders.NO_LENS[type(self.pipe.guider).__name__]

    def state(self) -> dict[str, Any]:
        guider = self.pipe.guider
        return {
            "guider": type(guider).__name__,
            "guider_config": json.loads(json.dumps(dict(guider.config), default=str)),
        }

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        was, now = recorded.get("guider"), type(self.pipe.guider).__name__
        if was is None or was == now:
            return []
        return [f"the run was recorded with the guider {was}, this pipeline's is {now}; the replay will differ"]

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        """The guider's settings are the run's for its length and the user's again after it."""
        guider = self.pipe.guider
        saved = {knob.name: guiders.value(guider, knob.name) for knob in self.knobs()}
        try:
            with super().steer(params, pipe_kwargs, embeddings, tap) as steering:
                yield steering
        finally:
            for name, value in saved.items():
                guiders.put(guider, name, value)
