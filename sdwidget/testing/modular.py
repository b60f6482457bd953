"""A tiny SDXL modular pipeline (``StableDiffusionXLModularPipeline``), built offline from the
tiny SDXL pipeline's components and diffusers' own SDXL blocks."""

from __future__ import annotations

from typing import Any


def tiny_modular_sdxl_pipeline(guider: Any = None) -> Any:
    """diffusers' ``StableDiffusionXLAutoBlocks`` with the components of ``tiny_sdxl_pipeline()``;
    ``guider``: a ``diffusers.guiders`` guider (default: the blocks' own CFG at 7.5)."""
    from diffusers.modular_pipelines import StableDiffusionXLAutoBlocks

    from ..families.modular.loop import denoise_loops
    from .sd import tiny_sdxl_pipeline

    classic = tiny_sdxl_pipeline()
    pipe = StableDiffusionXLAutoBlocks().init_pipeline()
    parts = {name: part for name, part in classic.components.items() if part is not None and name in pipe.components}
    pipe.update_components(**parts, **({"guider": guider} if guider is not None else {}))
    # The denoise loop draws its own progress bar; the pipeline's setting does not reach it.
    for loop in denoise_loops(pipe._blocks):
        loop.set_progress_bar_config(disable=True)
    return pipe
