"""The reference side of the self-check: diffusers' own pipelines, called as diffusers documents.

No sdwidget code runs here. Guidance is turned off mid-run the way diffusers' CFG-cutoff callbacks
do it: a ``callback_on_step_end`` that sets ``pipe._guidance_scale`` and keeps the conditional half
of the CFG-doubled tensors (``.chunk(2)[1]``), so the steps after it run without CFG.
"""

from __future__ import annotations

from typing import Any

import torch

PROMPT, NEGATIVE, SEED, STEPS = "a red star on a blue background", "blurry", 7, 8

# The CFG-doubled tensors each family's loop hands its step callback, halved when CFG goes off.
DOUBLED = {
    "StableDiffusionPipeline": ["prompt_embeds"],
    "StableDiffusionXLPipeline": ["prompt_embeds", "add_text_embeds", "add_time_ids"],
    "StableDiffusion3Pipeline": ["prompt_embeds", "pooled_prompt_embeds"],
}


def common(pipe: Any) -> dict[str, Any]:
    """The arguments both sides share: prompt, negative prompt, steps and the pipeline's smallest size."""
    side = 32 if type(pipe).__name__ in ("StableDiffusion3Pipeline", "FluxPipeline") else 64
    return {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "height": side, "width": side}


def bare_latents(pipe: Any, guidance: float, **kwargs: Any) -> torch.Tensor:
    """The final latents of a plain pipeline call on one torch thread (Flux's unpacked, as a VAE reads them)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            latents = pipe(
                PROMPT, guidance_scale=guidance, generator=torch.Generator().manual_seed(SEED), output_type="latent",
                **common(pipe), **kwargs,
            ).images  # fmt: skip
    finally:
        torch.set_num_threads(before)
    if type(pipe).__name__ == "FluxPipeline":
        side = common(pipe)["height"]
        latents = pipe._unpack_latents(latents, side, side, pipe.vae_scale_factor)
    return latents


def cfg_off_after(pipe: Any, step: int, guidance: float, low: float) -> torch.Tensor:
    """The pipeline's latents with guidance ``guidance`` up to and including ``step`` (0-based),
    then ``low`` (≤ 1: CFG off) for the rest, through diffusers' step callback alone."""
    names = DOUBLED[type(pipe).__name__]

    def callback(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if index == step:
            pipe._guidance_scale = low
            tensors = {**tensors, **{name: tensors[name].chunk(2)[1] for name in names}}
        return tensors

    return bare_latents(pipe, guidance, callback_on_step_end=callback, callback_on_step_end_tensor_inputs=names)


def distilled_after(pipe: Any, step: int, guidance: float, low: float) -> torch.Tensor:
    """Flux (dev kind): the distilled guidance ``guidance`` up to ``step``, then ``low``. The pipeline
    builds that tensor once before its loop, so a forward pre-hook on its transformer replaces it."""
    calls: list[int] = []

    def hook(module: Any, args: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        calls.append(len(calls))
        if len(calls) > step + 1:
            kwargs = {**kwargs, "guidance": torch.full_like(kwargs["guidance"], low)}
        return args, kwargs

    handle = pipe.transformer.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        return bare_latents(pipe, guidance)
    finally:
        handle.remove()
