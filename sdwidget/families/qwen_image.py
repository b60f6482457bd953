"""Qwen-Image, text-to-image, checked against references in tests/test_family_qwen_image.py.

- Its guidance is true CFG with a norm-preserving combination, at ``true_cfg_scale``: the run's
  guidance is that scale, off at 1.0 (one transformer call a step) and crossing it both ways, so
  ``true_cfg_scale=`` itself is refused (pass ``guidance_scale``). Qwen-Image has no guidance
  embedding; a transformer with one (``guidance_embeds``) is refused, as no such loop was checked.
- The pipeline keeps its CFG switch, scale, negative prompt and masks in locals:
  ``QwenImageSteer`` (``qwen_image_steer.py``) steers them in the transformer's ``forward``, over
  the output tap, which keeps both calls: a guidance lens weighs them at any value.
- Its ``encode_prompt`` encodes one prompt: the negative one (empty unless given) is encoded apart,
  each with its token mask (``None`` where every token counts), carried so that an edit brings its own.
- The pipeline warns at every call that ``guidance_scale`` is ignored (it is, by the pipeline:
  it is ours) and that a mask is missing (``None``: every token counts); those two warnings are
  filtered out for the length of the call.
- Its loop holds latents packed 2×2 per token, of a video VAE (one frame): previews, kept latents
  and decodes unpack them to ``(batch, 16, h, w)``; image sides are multiples of two latent pixels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .encode import options_for
from .qwen_image_steer import CALL_SCALE, NormCfgParts, QwenImageSteer
from .steering import Embeddings, Knob, OutputTap, Steering
from .transformer import TransformerLoops
from .unet import CFG

# The pipeline's warnings about what the runner passes on purpose: the run's guidance_scale (ours,
# not the pipeline's), and a mask of None (every token counts, as its own encoder says it).
IGNORED = ("but ignored since the model is not guidance-distilled", "is not provided, so the model will treat all")


class QwenImage(TransformerLoops):
    loops = ("QwenImagePipeline",)

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        if not pipe.transformer.config.guidance_embeds:
            return None
        return (
            f"{type(pipe).__name__}'s transformer has a guidance embedding (guidance_embeds), which sdwidget has "
            "not checked on Qwen-Image's loop, so it cannot be steered exactly"
        )

    def knobs(self) -> list[Knob]:
        default = inspect.signature(type(self.pipe).__call__).parameters["true_cfg_scale"].default
        meaning = CFG.meaning.replace("one UNet pass", "one transformer pass")
        return [dataclasses.replace(CFG, default=float(default), meaning=meaning)]

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        super().check(pipe_kwargs)
        if "true_cfg_scale" in pipe_kwargs:
            raise TypeError(
                f"{type(self.pipe).__name__}: true_cfg_scale: guidance_scale is this model's true CFG scale; "
                f"pass guidance_scale={pipe_kwargs['true_cfg_scale']!r} instead"
            )

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        extra, device = options_for(self.pipe, options), self.pipe._execution_device
        if negative_prompt is None:
            negative_prompt = [""] * len(prompt) if isinstance(prompt, list) else ""
        cond, mask = self.pipe.encode_prompt(prompt=prompt, device=device, num_images_per_prompt=1, **extra)
        uncond, uncond_mask = self.pipe.encode_prompt(
            prompt=negative_prompt, device=device, num_images_per_prompt=1, **extra
        )  # fmt: skip
        halves = ({"prompt_embeds": cond, "prompt_embeds_mask": mask},
                  {"prompt_embeds": uncond, "prompt_embeds_mask": uncond_mask})  # fmt: skip
        call = {"prompt_embeds": cond, "prompt_embeds_mask": mask, "negative_prompt_embeds": uncond,
                "negative_prompt_embeds_mask": uncond_mask}  # fmt: skip
        return Embeddings(*({k: v for k, v in d.items() if v is not None} for d in (call, *halves)))

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        call = {**self.call(embeddings, pipe_kwargs, params["prompt"]), "true_cfg_scale": CALL_SCALE}
        logger = logging.getLogger(type(self.pipe).__call__.__module__)
        quiet = _Without(IGNORED)
        logger.addFilter(quiet)
        try:
            # The tap sits under the steer: it keeps both halves, one or two calls a step.
            with tap(0) as outputs, QwenImageSteer(self.pipe, embeddings, outputs.end_step) as steer:
                yield Steering(steer, call, parts=NormCfgParts())
        finally:
            logger.removeFilter(quiet)

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        unpack, factor = type(self.pipe)._unpack_latents, self.pipe.vae_scale_factor
        # The video VAE's latents have a frame axis (one frame): an image is (batch, 16, h, w).
        return lambda latents: unpack(latents, height, width, factor)[:, :, 0] if latents.ndim == 3 else latents


class _Without(logging.Filter):
    """Drops the log records that contain one of ``texts``."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        super().__init__()
        self.texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in self.texts)
