"""Tiny modular pipelines (``StableDiffusionXLModularPipeline``, ``StableDiffusion3ModularPipeline``,
``FluxModularPipeline``), built offline from the tiny classic pipelines' components and
diffusers' own blocks."""

from __future__ import annotations

from typing import Any


def _modular(blocks: Any, classic: Any, guider: Any = None) -> Any:
    """``blocks``' pipeline with ``classic``'s components (and ``guider``, where given)."""
    from ..families.modular.loop import denoise_loops

    pipe = blocks.init_pipeline()
    parts = {name: part for name, part in classic.components.items() if part is not None and name in pipe.components}
    pipe.update_components(**parts, **({"guider": guider} if guider is not None else {}))
    # The denoise loop draws its own progress bar; the pipeline's setting does not reach it.
    for loop in denoise_loops(pipe._blocks):
        loop.set_progress_bar_config(disable=True)
    return pipe


def tiny_modular_sdxl_pipeline(guider: Any = None) -> Any:
    """diffusers' ``StableDiffusionXLAutoBlocks`` with the components of ``tiny_sdxl_pipeline()``;
    ``guider``: a ``diffusers.guiders`` guider (default: the blocks' own CFG at 7.5)."""
    from diffusers.modular_pipelines import StableDiffusionXLAutoBlocks

    from .sd import tiny_sdxl_pipeline

    return _modular(StableDiffusionXLAutoBlocks(), tiny_sdxl_pipeline(), guider)


def tiny_modular_sd3_pipeline(guider: Any = None) -> Any:
    """diffusers' ``StableDiffusion3AutoBlocks`` with the components of ``tiny_sd3_pipeline()`` (two CLIP
    encoders, no T5: the blocks feed zeros in its place); ``guider``: default the blocks' own CFG at 7.0."""
    from diffusers.modular_pipelines import StableDiffusion3AutoBlocks

    from .flow import tiny_sd3_pipeline

    return _modular(StableDiffusion3AutoBlocks(), tiny_sd3_pipeline(), guider)


def tiny_modular_flux_pipeline(guidance_embeds: bool = True) -> Any:
    """diffusers' ``FluxAutoBlocks`` with the components of ``tiny_flux_pipeline()``: with
    ``guidance_embeds`` as FLUX.1-dev (distilled guidance), without as FLUX.1-schnell. Its blocks
    have no guider."""
    from diffusers.modular_pipelines import FluxAutoBlocks

    from .flow import tiny_flux_pipeline

    return _modular(FluxAutoBlocks(), tiny_flux_pipeline(guidance_embeds=guidance_embeds))
