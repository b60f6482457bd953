"""What the transformer (flow-matching) loops share, SD3's and Flux's.

- Their denoiser is ``pipe.transformer``.
- Given embeddings, they do not repeat them for ``num_images_per_prompt`` (the UNet loops do),
  so the runner repeats them, one row per image, and asks the pipeline for one image per row:
  the latents are drawn for the same number of rows, from the same generator, as the pipeline's own.
- IP-Adapters are refused: the transformer keeps their embeddings out of a callback's reach.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Collection, Iterator
from typing import Any, ClassVar

import torch

from .cfg import CfgParts, CfgSwitch
from .cfg_halves import SD3, Doubled
from .loops import loop_of
from .rows import batch_rows, fit
from .steering import Embeddings, Knob, OutputTap, Steering
from .unet import CFG, unchanged


class TransformerLoops:
    """A family of transformer loops; subclasses set ``loops``."""

    loops: ClassVar[tuple[str, ...]]
    scale_arguments: ClassVar[tuple[str, ...]] = ()
    """Pipeline arguments that are guidance scales, checked as the run's guidance is."""
    dropped: tuple[str, ...] = ()

    def __init__(self, pipe: Any) -> None:
        self.pipe, self.denoiser = pipe, pipe.transformer

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        return getattr(pipe, "transformer", None) is not None and loop_of(pipe, cls.loops) is not None

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        return None

    def knobs(self) -> list[Knob]:
        return [CFG]

    def arguments(self) -> Collection[str]:
        return inspect.signature(self.pipe.__call__).parameters.keys()

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        name = type(self.pipe).__name__
        named = sorted(arg for arg in pipe_kwargs if "ip_adapter" in arg)
        if named:
            raise TypeError(
                f"{name}: {', '.join(named)} cannot be steered: sdwidget steers IP-Adapters on UNet pipelines "
                "(SD 1.x/2.x, SDXL) only"
            )

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        return None

    def size_multiple(self) -> int:
        """One transformer patch (the pipeline checks it)."""
        return int(self.pipe.vae_scale_factor * getattr(self.pipe, "patch_size", 1))

    def state(self) -> dict[str, Any]:
        return {}

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        return []

    def call(self, embeddings: Embeddings, pipe_kwargs: dict[str, Any], prompt: Any) -> dict[str, Any]:
        """The embeddings, one row per image, and the run's arguments, for one image per row."""
        rows = batch_rows(prompt, pipe_kwargs)
        return {
            **{name: fit(value, rows) for name, value in embeddings.call.items()},
            **pipe_kwargs, "num_images_per_prompt": 1,
        }  # fmt: skip

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        # A step run with CFG off, made again under CFG (a lens there); built before the tap wraps
        # the transformer: that call is no step's.
        doubled = Doubled(self.denoiser, SD3, batch_rows(params["prompt"], pipe_kwargs))
        with tap(1), doubled:
            switch = CfgSwitch(self.pipe, embeddings.uncond)
            call = self.call(embeddings, pipe_kwargs, params["prompt"])
            yield Steering(switch, call, parts=CfgParts(), other_half=doubled.bind(switch.negatives))

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return unchanged
