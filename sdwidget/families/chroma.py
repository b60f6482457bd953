"""Chroma, text-to-image, checked against references in tests/test_family_chroma.py.

- Its guidance is true CFG on a Flux-like transformer: the run's guidance is its scale, off at 1.0
  (one transformer call a step) and crossing it both ways. Chroma has no guidance embedding.
- The pipeline decides at every step off ``pipe.guidance_scale`` whether to make its second call,
  but combines the calls with its argument and keeps the negative prompt and both attention masks
  in locals: ``ChromaSteer`` (``chroma_steer.py``) combines them in the transformer's ``forward``,
  over the output tap, which keeps both calls: a guidance lens weighs them at any value.
- Its encoder makes an attention mask with each prompt (all but the first padding token masked),
  carried with the embeddings so that a prompt edit brings its own mask.
- Its loop holds Flux's packed latents: previews, kept latents and decodes unpack them, and image
  sides are multiples of two latent pixels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .chroma_steer import ChromaSteer
from .encode import options_for
from .flux_steer import TrueCfgParts
from .steering import Embeddings, Knob, OutputTap, Steering
from .transformer import TransformerLoops
from .unet import CFG


class Chroma(TransformerLoops):
    loops = ("ChromaPipeline",)

    def knobs(self) -> list[Knob]:
        default = inspect.signature(type(self.pipe).__call__).parameters["guidance_scale"].default
        meaning = CFG.meaning.replace("one UNet pass", "one transformer pass")
        return [dataclasses.replace(CFG, default=float(default), meaning=meaning)]

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves and their masks, one row per prompt (the negative prompt, empty unless given)."""
        cond, _, mask, uncond, _, uncond_mask = self.pipe.encode_prompt(
            prompt=prompt, negative_prompt=negative_prompt, device=self.pipe._execution_device,
            num_images_per_prompt=1, do_classifier_free_guidance=True, **options_for(self.pipe, options),
        )  # fmt: skip
        call = {"prompt_embeds": cond, "negative_prompt_embeds": uncond, "prompt_attention_mask": mask,
                "negative_prompt_attention_mask": uncond_mask}  # fmt: skip
        return Embeddings(
            call, {"prompt_embeds": cond, "prompt_attention_mask": mask},
            {"prompt_embeds": uncond, "prompt_attention_mask": uncond_mask},
        )  # fmt: skip

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        # The tap sits under the steer: it keeps both halves, one or two calls a step.
        with tap(0) as outputs, ChromaSteer(self.pipe, embeddings, outputs.end_step) as steer:
            yield Steering(steer, self.call(embeddings, pipe_kwargs, params["prompt"]), parts=TrueCfgParts())

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        unpack, factor = type(self.pipe)._unpack_latents, self.pipe.vae_scale_factor
        return lambda latents: unpack(latents, height, width, factor) if latents.ndim == 3 else latents
