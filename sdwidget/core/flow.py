"""What SD3 and Flux, the transformer (flow-matching) pipelines, need besides SD's loop.

- Their denoiser is ``pipe.transformer``, not ``pipe.unet``.
- Given embeddings, they do not repeat them for ``num_images_per_prompt`` (SD and SDXL do), so
  the runner repeats them, one row per image, and asks the pipeline for one image per row: the
  latents are drawn for the same number of rows, from the same generator, as the pipeline's own.
- Flux is steered by ``FluxSteer`` in its transformer's ``forward``; it is called with a true
  CFG scale above 1 so that it always makes its second call (see ``flux.py``).
"""

from __future__ import annotations

from typing import Any

from .cfg import fit
from .encode import Embeddings
from .flux import CALL_SCALE, FluxSteer
from .inputs import batch_rows


def denoiser(pipe: Any) -> Any:
    unet = getattr(pipe, "unet", None)
    return unet if unet is not None else pipe.transformer


def size_multiple(pipe: Any) -> int:
    """What the image's sides must be multiples of: one latent pixel, or one transformer patch (SD3
    checks it; Flux, which packs 2×2 latent pixels per token, would silently shrink the image)."""
    patch = 2 if is_flux(pipe) else getattr(pipe, "patch_size", 1)
    return int(pipe.vae_scale_factor * patch)


def is_flux(pipe: Any) -> bool:
    return hasattr(type(pipe), "_unpack_latents") and getattr(pipe, "transformer", None) is not None


def guidance_kind(pipe: Any) -> str:
    """``"distilled"`` where the guidance scale is Flux's guidance embedding, else ``"cfg"``."""
    return "distilled" if is_flux(pipe) and pipe.transformer.config.guidance_embeds else "cfg"


def flux_steer(pipe: Any, embeddings: Embeddings, pipe_kwargs: dict[str, Any], negative: Any) -> FluxSteer | None:
    """``negative``: the run's negative prompt; without one FluxPipeline ignores ``true_cfg_scale``, so do we."""
    true_cfg = float(pipe_kwargs.get("true_cfg_scale", 1.0)) if negative is not None else 1.0
    return FluxSteer(pipe, embeddings, true_cfg) if is_flux(pipe) else None


def call_arguments(pipe: Any, embeddings: Embeddings, pipe_kwargs: dict[str, Any], prompt: Any) -> dict[str, Any]:
    """The embeddings and extra arguments ``pipe`` is called with."""
    if getattr(pipe, "unet", None) is not None:
        return {**embeddings.call, **pipe_kwargs}
    rows = batch_rows(prompt, pipe_kwargs)
    call = {name: fit(value, rows) for name, value in embeddings.call.items()}
    extra = {**pipe_kwargs, "num_images_per_prompt": 1}
    if is_flux(pipe):
        extra["true_cfg_scale"] = CALL_SCALE
    return {**call, **extra}


def refusal(pipe: Any, pipe_kwargs: dict[str, Any]) -> str | None:
    """Why a run of a transformer pipeline with these arguments cannot be steered exactly."""
    if "skip_guidance_layers" in pipe_kwargs:
        # Its extra pass conditions on the first prompt's embeddings, kept in a local before the
        # loop: neither a prompt edit nor CFG switched on from guidance ≤ 1 could reach it.
        return "skip_guidance_layers (skip-layer guidance) cannot be steered: its pass keeps the first prompt"
    if not is_flux(pipe):
        return None
    if "true_cfg_scale" in pipe_kwargs and not pipe.transformer.config.guidance_embeds:
        return (
            "true_cfg_scale: this Flux model has no guidance embedding, so guidance_scale is its true CFG "
            f"scale; pass guidance_scale={pipe_kwargs['true_cfg_scale']!r} instead"
        )
    return None
