"""SD3's modular pipeline (``StableDiffusion3ModularPipeline``), text to image, steered through its
guider (``guided.py``) as SDXL's is: checked against the pipeline's own output and a reference loop
in tests/test_modular_sd3.py.

Its denoiser guides only where the block state holds negative embeddings: without a negative
prompt the blocks hand the guider the prompt's for both halves, so any scale gives the prompt's
own prediction. The run always encodes a negative prompt, the empty one unless given (as
``StableDiffusion3Pipeline`` does): a run without one equals the pipeline's own output with
``negative_prompt=""``.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.modular_pipelines.stable_diffusion_3.encoders import encode_prompt

from ..steering import Embeddings
from .guided import GuidedModular
from .loop import PROMPT_TENSORS


class ModularStableDiffusion3(GuidedModular):
    pipelines = ("StableDiffusion3ModularPipeline",)
    broken = {
        "PerturbedAttentionGuidance": "fails on SD3's transformer in diffusers 0.42 (the pipeline's own run too): "
        "its attention-score skip has no entry for SD3's joint attention processor (JointAttnProcessor2_0)",
        "SkipLayerGuidance": "fails on SD3's transformer in diffusers 0.42 (the pipeline's own run too) once it "
        "applies: a skipped joint block hands back its text tokens as the image's, and its attention skip has no "
        "entry for SD3's joint attention processor",
    }

    def size_multiple(self) -> int:
        """One transformer patch of latents."""
        return int(self.pipe.vae_scale_factor * self.pipe.patch_size)

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves, one row per prompt, by the text encoder block's own code."""
        negative = "" if negative_prompt is None else negative_prompt
        cond, uncond, pooled, uncond_pooled = encode_prompt(
            self.pipe, prompt, device=self.pipe._execution_device, negative_prompt=negative
        )
        call = dict(zip(PROMPT_TENSORS, (cond, uncond, pooled, uncond_pooled), strict=True))
        return Embeddings(
            call, {"prompt_embeds": cond, "pooled_prompt_embeds": pooled},
            {"prompt_embeds": uncond, "pooled_prompt_embeds": uncond_pooled},
        )  # fmt: skip
