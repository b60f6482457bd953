"""Stable Diffusion 1.x/2.x: text-to-image, image-to-image, inpainting (4- and 9-channel UNets)
and ControlNet (one or several nets), each loop checked against a reference in
tests/test_families.py, tests/test_guidance_oracle.py and tests/test_controlnet_more.py."""

from __future__ import annotations

from .unet import UnetLoops


class StableDiffusion(UnetLoops):
    loops = (
        "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline",
        "StableDiffusionControlNetPipeline", "StableDiffusionControlNetImg2ImgPipeline",
        "StableDiffusionControlNetInpaintPipeline",
    )  # fmt: skip
    rescaling = ("StableDiffusionPipeline",)
    own_weight = ("StableDiffusionControlNetImg2ImgPipeline", "StableDiffusionControlNetInpaintPipeline")
    dropped_by = {"StableDiffusionControlNetInpaintPipeline": ("mask", "masked_image_latents")}
