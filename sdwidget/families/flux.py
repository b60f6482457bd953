"""Flux (FLUX.1-dev and -schnell kinds), text-to-image, checked against references in
tests/test_flow_families.py.

- Which knob: on a model with a guidance embedding (FLUX.1-dev) the run's guidance is that
  distilled embedding, with no CFG switch, and true CFG stays at the run's ``true_cfg_scale``
  (ignored without a negative prompt, as the pipeline ignores it); on a model without one
  (FLUX.1-schnell) the run's guidance is the true CFG scale, crossing 1.0 both ways.
- Both are steered inside the transformer's ``forward`` by ``FluxSteer`` (``flux_steer.py``): the
  pipeline keeps them in locals no step callback reaches.
- Flux has no negative prompt of its own: its ``encode_prompt`` encodes one prompt, so the
  negative one (empty unless given) is encoded apart, for true CFG.
- Its loop holds latents packed, 2×2 latent pixels per token: previews, kept latents and decodes
  unpack them as its own decode does, and image sides are multiples of two latent pixels (the
  pipeline would silently shrink the image otherwise).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .encode import encode_apart
from .flux_steer import CALL_SCALE, FluxSteer, TrueCfgParts
from .recall import CallRecord, SecondCall
from .steering import Embeddings, Knob, OutputTap, Steering
from .transformer import TransformerLoops
from .unet import CFG

DISTILLED = Knob(
    "guidance_scale", "distilled", default=3.5,
    meaning="Distilled guidance: the guidance value the model was trained to take as an input; it has no "
    "off switch, and a step costs one pass whatever its value",
)  # fmt: skip


class Flux(TransformerLoops):
    loops = ("FluxPipeline",)
    scale_arguments = ("true_cfg_scale",)

    def __init__(self, pipe: Any) -> None:
        super().__init__(pipe)
        self.distilled = bool(pipe.transformer.config.guidance_embeds)

    def knobs(self) -> list[Knob]:
        return [DISTILLED if self.distilled else CFG]

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        super().check(pipe_kwargs)
        if "true_cfg_scale" in pipe_kwargs and not self.distilled:
            raise TypeError(
                f"{type(self.pipe).__name__}: true_cfg_scale: this Flux model has no guidance embedding, so "
                f"guidance_scale is its true CFG scale; pass guidance_scale={pipe_kwargs['true_cfg_scale']!r} instead"
            )

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        return encode_apart(self.pipe, prompt, negative_prompt, options, "pooled_prompt_embeds")

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        # Without a negative prompt FluxPipeline ignores true_cfg_scale, so we do.
        given = params["negative_prompt"] is not None
        true_cfg = float(pipe_kwargs.get("true_cfg_scale", 1.0)) if given else 1.0
        call = {**self.call(embeddings, pipe_kwargs, params["prompt"]), "true_cfg_scale": CALL_SCALE}
        # Read before the tap and the steer wrap it: a paid lens's calls are no step's.
        forward = self.pipe.transformer.forward
        record = CallRecord(forward, lambda made: made[0] if len(made) == 1 else TrueCfgParts.combine(
            made[1], made[0], true_cfg, {}))  # fmt: skip
        # The tap sits under the steer: it keeps both halves, one or two calls a step.
        with tap(0) as outputs, FluxSteer(self.pipe, embeddings, true_cfg, outputs.end_step, record) as steer:
            if self.distilled:
                yield Steering(steer, call, recall=record)
            else:  # a step run with true CFG off: its negative call made again (a lens there)
                yield Steering(steer, call, parts=TrueCfgParts(), other_half=SecondCall(record, steer._negative))

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        unpack, factor = type(self.pipe)._unpack_latents, self.pipe.vae_scale_factor
        return lambda latents: unpack(latents, height, width, factor) if latents.ndim == 3 else latents
