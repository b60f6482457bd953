"""Flux's modular pipeline (``FluxModularPipeline``), text to image: checked against the pipeline's
own output and a reference loop in tests/test_modular_flux.py.

- Its blocks have no guider and no negative prompt: the only guidance is FLUX.1-dev's distilled
  one, the transformer's ``guidance`` input, which the set-timesteps block builds once from
  ``guidance_scale`` into the block state and the denoiser reads from there at every step. So it
  is the one knob (no off value, one pass a step whatever its value): the block inserted in the
  loop builds the tensor again, as that block does, from the value set for the next step.
- Refused, with the reason: a transformer without a guidance embedding (FLUX.1-schnell: the
  blocks run no guidance at all, nothing to steer) and a negative prompt (nothing reads one).
- A paid guidance lens makes a step's transformer call again at another value: each call's
  arguments are kept as the denoiser made them (``recall.CallRecord``), by a wrapper on the
  transformer's ``forward`` that only looks (over the output tap, so a branch's replayed steps
  are kept too).
- Its loop holds latents packed, 2×2 latent pixels a token: previews, kept latents and a stopped
  run's decode unpack them as its own unpack block does.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch
from diffusers.modular_pipelines.flux.decoders import _unpack_latents
from diffusers.modular_pipelines.flux.encoders import FluxTextEncoderStep

from ..flux import DISTILLED
from ..recall import CallRecord
from ..steering import Embeddings, Knob, OneKnob, OutputTap, Steering
from ..wrap import swap_forward
from .family import ModularLoops
from .loop import swap_prompt


class DistilledSwitch(OneKnob):
    """The step hook's switch: the distilled guidance of the next step, put into the block state."""

    names = ["prompt_embeds", "pooled_prompt_embeds"]

    def __init__(self) -> None:
        self.guidance = DISTILLED.default

    def begin(self, guidance: float, call: dict[str, Any]) -> dict[str, Any]:
        """The first step's guidance is the pipeline's argument."""
        self.guidance = guidance
        return {"guidance_scale": guidance}

    def scale(self) -> float:
        return self.guidance

    def after(self, state: Any) -> None:
        """The next step's ``guidance`` tensor, built as ``FluxSetTimestepsStep`` builds it."""
        rows, device = state.guidance.shape[0], state.guidance.device
        state.guidance = torch.full([1], self.guidance, device=device, dtype=torch.float32).expand(rows)

    def active(self, pipe: Any) -> bool:
        return False  # one transformer pass a step: there is no unconditional half

    def apply(self, pipe: Any, kwargs: dict, batch: int, value: float) -> None:
        self.guidance = value

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        swap_prompt(kwargs, embeddings, False)


class ModularFlux(ModularLoops):
    pipelines = ("FluxModularPipeline",)

    @classmethod
    def unsteerable(cls, pipe: Any) -> str | None:
        if pipe.transformer.config.guidance_embeds:
            return None
        return (
            f"{type(pipe).__name__}'s transformer has no guidance embedding (guidance_embeds=False, as "
            "FLUX.1-schnell): its blocks have no guider and no negative prompt, so they run no guidance at all and "
            "there is nothing to steer; sdwidget steers the modular Flux blocks' distilled guidance (FLUX.1-dev)"
        )

    def knobs(self) -> list[Knob]:
        return [DISTILLED]

    def switch(self) -> DistilledSwitch:
        return DistilledSwitch()

    def no_lens(self) -> str:
        return "the guidance is distilled, an input to the transformer: each value is a model call of its own"

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        transformer = self.pipe.transformer
        # Read before the tap wraps it: a paid lens's calls are no step's.
        record = CallRecord(transformer.forward, lambda made: made[0])
        with super().steer(params, pipe_kwargs, embeddings, tap) as steering:
            original = transformer.forward

            def forward(*args: Any, **kwargs: Any) -> Any:
                record.keep(kwargs)
                return original(*args, **kwargs)

            undo = swap_forward(transformer, forward)
            try:
                yield dataclasses.replace(steering, recall=record)
            finally:
                undo()

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """The prompt alone, by the text encoder block's own code; ``ValueError`` for a negative prompt."""
        if negative_prompt is not None:
            raise ValueError(
                f"{type(self.pipe).__name__} has no negative prompt: its blocks guide by the distilled guidance "
                "alone, one transformer pass on the prompt, so a negative prompt would change nothing; leave it out"
            )
        cond, pooled = FluxTextEncoderStep.encode_prompt(self.pipe, prompt, None, device=self.pipe._execution_device)
        half = {"prompt_embeds": cond, "pooled_prompt_embeds": pooled}
        return Embeddings(dict(half), half, {})

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        factor = self.pipe.vae_scale_factor
        return lambda latents: _unpack_latents(latents, height, width, factor) if latents.ndim == 3 else latents
