"""What the engine asks a model family: the one protocol every family module answers.

Developer notes: the engine (``sdwidget.core``) steers a run through these questions alone and
names no family. A family is one class bound to one pipeline, found by ``family_of``: it says
whether it steers the pipeline (and why not), which knobs a person can turn and what their
values mean, how a prompt is encoded into both halves of guidance, what the pipeline is called
with, and, around the call, the switch that carries a knob value into the loop at a step
boundary (what a run is handed: ``steering.py``). ``docs/adding-a-family.md`` walks through one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any, Protocol

import torch

from .steering import Embeddings, Knob, OutputTap, Steering


class Family(Protocol):
    """One loop family. Class attributes and ``matches``/``refusal`` answer before a pipeline is
    accepted; the rest are asked of the instance bound to it."""

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        """Whether ``pipe`` belongs to this family, steered or not."""
        ...

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        """Why ``pipe`` (which ``matches``) cannot be steered exactly, or ``None``."""
        ...

    pipe: Any
    scale_arguments: tuple[str, ...]
    """Pipeline arguments that are guidance scales, validated as the run's guidance is."""
    denoiser: Any
    """The model called once (or twice) per step: a UNet, a transformer."""
    dropped: tuple[str, ...]
    """Callback tensors the loop never takes back: the hook writes into the loop's own instead."""

    def knobs(self) -> list[Knob]:
        """What a person steers, the run's ``guidance`` first."""
        ...

    def arguments(self) -> Collection[str]:
        """The names of the pipeline arguments a run may pass through (the runner's own aside)."""
        ...

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        """Refuse, with ``TypeError``/``ValueError``, pipeline arguments that cannot be steered."""
        ...

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        """Refuse what cannot be steered from this starting guidance (``ValueError``)."""
        ...

    def size_multiple(self) -> int:
        """What the image's sides must be multiples of."""
        ...

    def state(self) -> dict[str, Any]:
        """The pipeline's own settings a run depends on but is not called with, recorded with it."""
        ...

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        """Why a replay of a run with these ``params`` on this pipeline would differ (``state``)."""
        ...

    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves, one row per prompt; ``options``: the run's pipeline arguments."""
        ...

    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> AbstractContextManager[Steering]:
        """Around one pipeline call: whatever wraps the models, and the ``Steering`` to call with."""
        ...

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The loop's latents as an image, ``(batch, channels, h, w)``."""
        ...
