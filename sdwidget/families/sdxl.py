"""SDXL: text-to-image, image-to-image (the refiner too: aesthetic score, ``denoising_start``),
inpainting and ControlNet, each loop checked against a reference in tests/test_families.py,
tests/test_refiner.py and tests/test_controlnet_more.py.

Besides SD's, SDXL doubles its pooled embeddings (``add_text_embeds`` to step callbacks) and its
time ids under CFG; the time ids' unconditional row is built by ``sdxl_time_ids``.
"""

from __future__ import annotations

from typing import Any

import torch

from .sdxl_time_ids import negative_time_ids
from .steering import Embeddings
from .unet import UnetLoops


class StableDiffusionXL(UnetLoops):
    loops = (
        "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline",
        "StableDiffusionXLControlNetPipeline", "StableDiffusionXLControlNetImg2ImgPipeline",
        "StableDiffusionXLControlNetInpaintPipeline",
    )  # fmt: skip
    rescaling = ("StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline")
    own_weight = (
        "StableDiffusionXLControlNetPipeline", "StableDiffusionXLControlNetImg2ImgPipeline",
        "StableDiffusionXLControlNetInpaintPipeline",
    )  # fmt: skip
    dropped_by = {
        "StableDiffusionXLControlNetInpaintPipeline": (
            "add_text_embeds",
            "add_time_ids",
            "mask",
            "masked_image_latents",
        )
    }
    pooled = "add_text_embeds"

    def negatives(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings
    ) -> dict[str, torch.Tensor]:
        return negative_time_ids(self.pipe, params["height"], params["width"], pipe_kwargs, embeddings)
