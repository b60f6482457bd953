"""Model families: one module per denoising loop, each answering the engine's questions
(``Family``, in ``protocol.py``). The engine steers a pipeline only through the family found here.

Steering rests on what a pipeline's denoising loop does, so it is granted per loop: a pipeline
belongs to a family when its ``__call__`` is one of that family's diffusers loops (a subclass
that keeps it inherits it), each read and checked by an oracle test. Any other pipeline is
refused up front, with the reason, rather than failing or silently ignoring a guidance change.
Adding a family: ``docs/adding-a-family.md``.
"""

from __future__ import annotations

import inspect
from typing import Any

from .chroma import Chroma
from .flux import Flux
from .flux2 import Flux2Klein
from .flux2_dev import Flux2Dev
from .modular import MODULAR
from .protocol import Family
from .qwen_image import QwenImage
from .sd import StableDiffusion
from .sd3 import StableDiffusion3
from .sdxl import StableDiffusionXL
from .steering import Embeddings, Knob, OutputTap, Steering, Switch
from .unet import lcm_refusal
from .z_image import ZImage

FAMILIES: tuple[type[Any], ...] = (
    StableDiffusion, StableDiffusionXL, StableDiffusion3, Flux, Chroma, QwenImage, ZImage, Flux2Klein, Flux2Dev,
    *MODULAR,
)  # fmt: skip
"""Every family, asked in order."""

# What messages say is steered: the families' loops in words (add a new family's here).
SUPPORTED = (
    "Stable Diffusion 1.x/2.x and SDXL text-to-image, image-to-image and inpainting (4- and 9-channel "
    "UNets), SD and SDXL ControlNet text-to-image, image-to-image and inpainting with one or several "
    "ControlNets, and SD3/SD3.5, Flux, Chroma, Qwen-Image, Z-Image, FLUX.2 [klein] (base) and FLUX.2 [dev] "
    "text-to-image"
)

__all__ = [
    "FAMILIES", "SUPPORTED", "Embeddings", "Family", "Knob", "OutputTap", "Steering", "Switch", "family_of", "refusal",
]  # fmt: skip


def refusal(pipe: Any) -> str | None:
    """Why ``pipe`` cannot be steered exactly, or ``None`` when it can."""
    family = next((family for family in FAMILIES if family.matches(pipe)), None)
    if family is not None:
        return family.refusal(pipe)
    name = type(pipe).__name__
    if getattr(pipe, "unet", None) is None:
        denoiser = "a transformer" if getattr(pipe, "transformer", None) is not None else "no UNet"
        return (
            f"{name} has no unet (it denoises with {denoiser}), and sdwidget has not checked its loop: "
            "flow-matching pipelines keep parts of their guidance where a step callback cannot reach "
            f"them, so it cannot be steered exactly; sdwidget steers {SUPPORTED}"
        )
    lcm = lcm_refusal(pipe)
    if lcm is not None:
        return lcm
    source = _source(type(pipe).__call__)
    if "guidance_scale * (" in source and "self.guidance_scale * (" not in source:
        why = "computes classifier-free guidance from its guidance_scale argument, not pipe.guidance_scale"
    else:
        why = "has a denoising loop sdwidget has not checked (its CFG batch layout may differ)"
    return f"{name} {why}, so it cannot be steered exactly; sdwidget steers {SUPPORTED}"


def family_of(pipe: Any) -> Family:
    """The family steering ``pipe``, bound to it; ``TypeError`` with the reason when none can."""
    why = refusal(pipe)
    if why is not None:
        raise TypeError(why)
    family: Family = next(family for family in FAMILIES if family.matches(pipe))(pipe)
    return family


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""
