"""SDXL's unconditional time ids, for a run that switches classifier-free guidance on mid-run.

SDXL conditions the UNet on "time ids" (original size, crop, target size; the refiner's
image-to-image pipelines put an aesthetic score in place of the target size), one row per half
of the CFG batch. The unconditional row can differ from the conditional one: the refiner uses
``negative_aesthetic_score``, and any SDXL pipeline takes ``negative_original_size``,
``negative_crops_coords_top_left`` and ``negative_target_size``. A run started at guidance ≤ 1
never builds that row, so it is built here, by the pipeline's own ``_get_add_time_ids`` with the
run's arguments and the defaults its ``__call__`` fills in, for ``CfgSwitch`` to put in front.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from .steering import Embeddings


def negative_time_ids(
    pipe: Any, height: int, width: int, pipe_kwargs: dict[str, Any], embeddings: Embeddings
) -> dict[str, torch.Tensor]:
    """``{"add_time_ids": the unconditional row}`` for an SDXL pipeline where it differs from the
    conditional one by the pipeline's rules, else ``{}``.
    ``height``/``width`` are the run's (for image-to-image, the image's, as the pipeline reads
    them off its latents); ``embeddings`` the run's first prompt, for the dtype and pooled size."""
    build = getattr(pipe, "_get_add_time_ids", None)
    if build is None:
        return {}
    defaults = {name: p.default for name, p in inspect.signature(pipe.__call__).parameters.items()}

    def arg(name: str) -> Any:
        return pipe_kwargs.get(name, defaults.get(name))

    original = arg("original_size") or (height, width)
    target = arg("target_size") or (height, width)
    pooled = embeddings.cond["add_text_embeds"]
    encoder = getattr(pipe, "text_encoder_2", None)
    common = {
        "dtype": embeddings.cond["prompt_embeds"].dtype,
        # Only checked against the UNet's embedding size; the pipeline reads it like this.
        "text_encoder_projection_dim": int(pooled.shape[-1]) if encoder is None else encoder.config.projection_dim,
    }
    negative_original, negative_target = arg("negative_original_size"), arg("negative_target_size")
    accepted = inspect.signature(build).parameters
    if "negative_aesthetic_score" in accepted:
        # Image-to-image and inpainting: both rows at once, the negative sizes defaulting to the positive ones
        # (SDXL ControlNet inpainting takes no negative sizes).
        sizes = (
            original if negative_original is None else negative_original, arg("negative_crops_coords_top_left"),
            target if negative_target is None else negative_target,
        ) if "negative_original_size" in accepted else ()  # fmt: skip
        _, negative = build(
            original, arg("crops_coords_top_left"), target, arg("aesthetic_score"), arg("negative_aesthetic_score"),
            *sizes, **common,
        )  # fmt: skip
    elif negative_original is not None and negative_target is not None:
        negative = build(negative_original, arg("negative_crops_coords_top_left"), negative_target, **common)
    else:
        return {}  # text-to-image without both negative sizes: the conditional row, CfgSwitch's fallback
    return {"add_time_ids": negative}
