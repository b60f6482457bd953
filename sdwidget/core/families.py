"""Which pipelines the runner steers exactly, and why it refuses the others.

Steering rests on what a pipeline's denoising loop does, so it is granted per loop: a pipeline
is steered when its ``__call__`` is one of the diffusers loops below (a subclass that keeps it
inherits it), each read and checked by an oracle test in tests/test_families.py and
tests/test_guidance_oracle.py. They read ``pipe.guidance_scale`` at every step and expose every
tensor they double under CFG to step callbacks. Any other pipeline is refused up front, with the
reason, rather than failing or silently ignoring a guidance change mid-run.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import diffusers

STEERED = (
    "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline",
    "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline",
    "StableDiffusionControlNetPipeline", "StableDiffusionXLControlNetPipeline",
    "StableDiffusionControlNetImg2ImgPipeline", "StableDiffusionControlNetInpaintPipeline",
    "StableDiffusionXLControlNetImg2ImgPipeline", "StableDiffusionXLControlNetInpaintPipeline",
)  # fmt: skip
# Tensors these loops hand to step callbacks but never take back (they pop only some names): the
# step hook writes a callback's new values into the loop's own tensors instead (``StepHook``).
DROPPED = {
    "StableDiffusionControlNetInpaintPipeline": ("mask", "masked_image_latents"),
    "StableDiffusionXLControlNetInpaintPipeline": ("add_text_embeds", "add_time_ids", "mask", "masked_image_latents"),
}
# Transformer (flow-matching) loops, steered with the help of flow.py and flux.py.
FLOW = ("StableDiffusion3Pipeline", "FluxPipeline")
SUPPORTED = (
    "Stable Diffusion 1.x/2.x and SDXL text-to-image, image-to-image and inpainting (4- and 9-channel "
    "UNets), SD and SDXL ControlNet text-to-image, image-to-image and inpainting with one or several "
    "ControlNets, and SD3/SD3.5 and Flux text-to-image"
)


def _loops(names: tuple[str, ...] = STEERED) -> set[Any]:
    return {getattr(diffusers, name).__call__ for name in names}


def refusal(pipe: Any) -> str | None:
    """Why ``pipe`` cannot be steered exactly, or ``None`` when it can."""
    name = type(pipe).__name__
    if type(pipe).__call__ in _loops(FLOW):
        return None
    if getattr(pipe, "unet", None) is None:
        denoiser = "a transformer" if getattr(pipe, "transformer", None) is not None else "no UNet"
        return (
            f"{name} has no unet (it denoises with {denoiser}), and sdwidget has not checked its loop: "
            "flow-matching pipelines keep parts of their guidance where a step callback cannot reach "
            f"them, so it cannot be steered exactly; sdwidget steers {SUPPORTED}"
        )
    if getattr(pipe.unet.config, "time_cond_proj_dim", None) is not None:
        return (
            f"{name}'s UNet takes guidance as an embedding computed once before the loop "
            f"(time_cond_proj_dim, as LCM models do), so a guidance change mid-run would be ignored; "
            f"sdwidget steers {SUPPORTED}"
        )
    if type(pipe).__call__ not in _loops():
        source = _source(type(pipe).__call__)
        if "guidance_scale * (" in source and "self.guidance_scale * (" not in source:
            why = "computes classifier-free guidance from its guidance_scale argument, not pipe.guidance_scale"
        else:
            why = "has a denoising loop sdwidget has not checked (its CFG batch layout may differ)"
        return f"{name} {why}, so it cannot be steered exactly; sdwidget steers {SUPPORTED}"
    return None


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def dropped(pipe: Any) -> tuple[str, ...]:
    """The callback tensors ``pipe``'s loop never takes back (``DROPPED``; a subclass keeping the loop too)."""
    return _dropped(type(pipe).__call__)


@functools.cache  # the step hook asks at every step: looked up once per loop
def _dropped(call: Any) -> tuple[str, ...]:
    return next((names for name, names in DROPPED.items() if getattr(diffusers, name).__call__ is call), ())
