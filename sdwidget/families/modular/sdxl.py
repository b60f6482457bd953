"""SDXL's modular pipeline (``StableDiffusionXLModularPipeline``), text to image, steered through
its guider (``guided.py``): checked against the pipeline's own output and a reference loop in
tests/test_modular.py."""

from __future__ import annotations

from typing import Any

import torch
from diffusers.modular_pipelines.stable_diffusion_xl.encoders import StableDiffusionXLTextEncoderStep

from ..steering import Embeddings
from .guided import GuidedModular
from .loop import PROMPT_TENSORS


class ModularStableDiffusionXL(GuidedModular):
    pipelines = ("StableDiffusionXLModularPipeline",)

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves, one row per prompt, by the text encoder block's own code."""
        cond, uncond, pooled, uncond_pooled = StableDiffusionXLTextEncoderStep.encode_prompt(
            self.pipe, prompt, device=self.pipe._execution_device, num_images_per_prompt=1,
            prepare_unconditional_embeds=True, negative_prompt=negative_prompt,
        )  # fmt: skip
        call = dict(zip(PROMPT_TENSORS, (cond, uncond, pooled, uncond_pooled), strict=True))
        return Embeddings(
            call, {"prompt_embeds": cond, "pooled_prompt_embeds": pooled},
            {"prompt_embeds": uncond, "pooled_prompt_embeds": uncond_pooled},
        )  # fmt: skip
