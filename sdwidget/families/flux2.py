"""FLUX.2 [klein], text-to-image, checked against references in tests/test_family_flux2.py; and
what the FLUX.2 loops share (``Flux2Loops``: [dev]'s family, ``flux2_dev.py``, is one too).

- Its guidance is CFG on the base (undistilled) models: the run's guidance is its scale, off at
  1.0 and crossing it both ways, steered by ``KleinSteer`` (``flux2_steer.py``): the pipeline mixes
  with its argument and keeps the negative prompt in locals. The output tap sits under it and keeps
  both calls: a guidance lens weighs them at any value. The step-distilled models
  (``is_distilled``) run no guidance at all, whatever the scale: refused, as a guidance knob there
  would change nothing.
- Its negative prompt is always empty in the pipeline; here it is the run's (empty unless given).
- Reference images (``image``) are not passed, on any FLUX.2 loop: no oracle has checked their
  tokens in the loop.
- FLUX.2's loops hold latents normalised by the VAE's batch-norm statistics, in 2×2 patches, packed
  per token: ``flux2_view`` undoes all three as the pipeline does before its decode, so previews,
  kept latents and decodes are the VAE's own latents, ``(batch, channels, h, w)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Collection, Iterator
from typing import Any

import torch

from .flux2_steer import CALL_SCALE, KleinSteer
from .flux_steer import TrueCfgParts
from .steering import Embeddings, Knob, OutputTap, Steering
from .transformer import TransformerLoops
from .unet import CFG


class Flux2Loops(TransformerLoops):
    """What FLUX.2's loops share: the image's sides, its latents as the VAE's, no reference images."""

    def arguments(self) -> Collection[str]:
        """Its own, but reference images (``image``): no oracle has checked their tokens in the loop."""
        return [name for name in super().arguments() if name != "image"]

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    def encoder_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The run's arguments its ``encode_prompt`` takes: every prompt of a run is encoded with them."""
        return {name: options[name] for name in ("max_sequence_length", "text_encoder_out_layers") if name in options}

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return flux2_view(self.pipe, height, width)


class Flux2Klein(Flux2Loops):
    loops = ("Flux2KleinPipeline",)

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        if not pipe.config.is_distilled:
            return None
        return (
            f"{type(pipe).__name__} is a step-distilled FLUX.2 [klein] (is_distilled): its pipeline runs no guidance "
            "whatever guidance_scale is, so there is no guidance to steer; sdwidget steers the base [klein] models"
        )

    def knobs(self) -> list[Knob]:
        default = inspect.signature(type(self.pipe).__call__).parameters["guidance_scale"].default
        meaning = CFG.meaning.replace("one UNet pass", "one transformer pass")
        return [dataclasses.replace(CFG, default=float(default), meaning=meaning)]

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves with the run's encoder options (the negative prompt, empty unless given)."""
        extra = self.encoder_options(options)
        if negative_prompt is None:
            negative_prompt = [""] * len(prompt) if isinstance(prompt, list) else ""
        device = self.pipe._execution_device
        cond, _ = self.pipe.encode_prompt(prompt=prompt, device=device, num_images_per_prompt=1, **extra)
        uncond, _ = self.pipe.encode_prompt(prompt=negative_prompt, device=device, num_images_per_prompt=1, **extra)
        call = {"prompt_embeds": cond, "negative_prompt_embeds": uncond}
        return Embeddings(call, {"prompt_embeds": cond}, {"prompt_embeds": uncond})

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        def invoke(**kwargs: Any) -> list[Any]:
            return list(self.pipe(**{**kwargs, "guidance_scale": CALL_SCALE}).images)

        start = float(params["guidance_scale"])
        # The tap sits under the steer: it keeps both halves, one or two calls a step.
        with tap(0) as outputs, KleinSteer(self.pipe, embeddings, start, outputs.end_step) as steer:
            call = self.call(embeddings, pipe_kwargs, params["prompt"])
            yield Steering(steer, call, invoke, parts=TrueCfgParts())


def flux2_view(pipe: Any, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The loop's packed tokens as the VAE's latents, with the pipeline's own steps before its decode:
    tokens to a grid, the batch-norm statistics put back, the 2×2 patches undone. The tokens are
    scattered by [klein]'s ``_unpack_latents_with_ids`` on every FLUX.2 loop: it takes the grid's
    size, where [dev]'s reads it off the ids, a host sync at every step on a GPU; both scatter alike."""
    from diffusers import Flux2KleinPipeline

    side = pipe.vae_scale_factor * 2
    rows, cols = height // side, width // side
    kind, unpack = type(pipe), Flux2KleinPipeline._unpack_latents_with_ids

    def view(latents: torch.Tensor) -> torch.Tensor:
        if latents.ndim != 3:
            return latents
        ids = kind._prepare_latent_ids(latents.new_empty(latents.shape[0], 1, rows, cols)).to(latents.device)
        grid = unpack(latents, ids, rows, cols)
        bn, eps = pipe.vae.bn, pipe.vae.config.batch_norm_eps
        mean = bn.running_mean.view(1, -1, 1, 1).to(grid.device, grid.dtype)
        std = torch.sqrt(bn.running_var.view(1, -1, 1, 1) + eps).to(grid.device, grid.dtype)
        return kind._unpatchify_latents(grid * std + mean)

    return view
