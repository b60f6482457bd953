"""The size and the number of steps a pipeline will really use, read off its arguments.

Image-to-image, inpainting and ControlNet pipelines take their size from an image unless given
one (image-to-image takes no size at all). The denoising loop runs once per timestep left after
the pipeline cuts its schedule: second-order schedulers (Heun, KDPM2) have about two timesteps
per step, image-to-image's ``strength`` and a refiner's ``denoising_start`` cut the start, a
base model's ``denoising_end`` the end (read off whichever of these arguments the pipeline
takes). Recording the UNet's default size or ``num_inference_steps`` instead would make
records, schedules and replays disagree with what ran.
"""

from __future__ import annotations

import copy
import inspect
import math
from numbers import Real
from types import SimpleNamespace
from typing import Any

import torch
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import retrieve_timesteps

from . import validate


def image_size(pipe: Any, pipe_kwargs: dict[str, Any], height: Any, width: Any, multiple: int) -> tuple[int, int]:
    """(height, width), validated: given, else the image's rounded down to ``multiple``, else the UNet's default."""
    accepted = inspect.signature(pipe.__call__).parameters
    image = pipe_kwargs.get("image")
    if isinstance(image, list | tuple) and image:
        image = image[0]  # several ControlNets or a batch of images: the pipelines size by the first
    if image is None:
        # Newer pipelines keep theirs as default_sample_size; older ones read their UNet's.
        default = (getattr(pipe, "default_sample_size", None) or pipe.unet.config.sample_size) * pipe.vae_scale_factor
        return tuple(  # type: ignore[return-value]
            validate.side(name, default if value is None else value, multiple)
            for name, value in (("height", height), ("width", width))
        )
    own = pipe.image_processor.get_default_height_width(image)
    if isinstance(image, torch.Tensor) and image.ndim == 4 and image.shape[1] == pipe.vae.config.latent_channels:
        own = (own[0] * pipe.vae_scale_factor, own[1] * pipe.vae_scale_factor)  # latents: the image they decode to
    if "height" not in accepted:  # image-to-image: the image's own size, nothing else
        given = (own[0] if height is None else height, own[1] if width is None else width)
        if given != tuple(own) or own[0] % multiple or own[1] % multiple:
            low = [side - side % multiple or multiple for side in own]
            raise ValueError(
                f"{type(pipe).__name__} takes its size from the image, {own[1]}×{own[0]} here; pass no height "
                f"or width, and an image whose sides are multiples of {multiple} (resize it to {low[1]}×{low[0]})"
            )
        return own[0], own[1]
    default = [max(multiple, side - side % multiple) for side in own]
    return (
        validate.side("height", default[0] if height is None else height, multiple),
        validate.side("width", default[1] if width is None else width, multiple),
    )


def steps_run(pipe: Any, steps: int, pipe_kwargs: dict[str, Any]) -> int:
    """How many times the denoising loop runs, so calls the step callback: computed as the
    pipeline computes its timesteps, on a copy of its scheduler (1–5 ms). ``strength``,
    ``denoising_start`` and ``denoising_end`` are validated here: the pipeline would only raise in
    the run's thread, or silently ignore a ``denoising_*`` that is not a float in (0, 1)."""
    accepted = inspect.signature(pipe.__call__).parameters
    start, end = (_fraction(name, pipe_kwargs.get(name)) for name in ("denoising_start", "denoising_end"))
    if start is not None and end is not None and start >= end:
        raise ValueError(f"denoising_start ({start:g}) must be less than denoising_end ({end:g})")
    scheduler = copy.deepcopy(pipe.scheduler)  # set_timesteps changes the scheduler it is called on
    # Dynamic shifting (flow-matching schedulers) wants a mu; it moves the timesteps, not their count.
    shift = {"mu": 1.0} if scheduler.config.get("use_dynamic_shifting") else {}
    timesteps, count = retrieve_timesteps(
        scheduler, steps, "cpu", pipe_kwargs.get("timesteps"), pipe_kwargs.get("sigmas"), **shift
    )
    cause = f"num_inference_steps={steps}"
    if "strength" in accepted:
        strength = _strength(pipe_kwargs.get("strength", accepted["strength"].default))
        # The pipeline's own method, handed the copy: image-to-image keeps the last
        # ``int(steps × strength)`` steps (× the scheduler's order), or the ones after denoising_start.
        extra = {} if start is None else {"denoising_start": start}
        timesteps, _ = type(pipe).get_timesteps(SimpleNamespace(scheduler=scheduler), count, strength, "cpu", **extra)
        if start is None:
            cause = f"num_inference_steps × strength = {steps} × {strength:g}"
        else:
            cause = f"{cause}, denoising_start={start:g}"
    if end is not None:  # the timesteps at or above the cutoff, as the pipelines taking denoising_end keep
        train = scheduler.config.num_train_timesteps
        timesteps = timesteps[: int((timesteps >= int(round(train - end * train))).sum())]
        cause = f"{cause}, denoising_end={end:g}"
    if len(timesteps) < 1:
        raise ValueError(f"{cause} leaves no step to run")
    return len(timesteps)


def _strength(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"strength must be a number between 0 and 1, got {validate.shown(value)}")
    value = float(value)
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"strength must be more than 0 and at most 1, got {value:g}")
    return value


def _fraction(name: str, value: Any) -> float | None:
    """``denoising_start``/``denoising_end``: a float strictly between 0 and 1, or None.
    The pipelines check ``isinstance(value, float)`` and ignore anything else without a word."""
    if value is None:
        return None
    if not isinstance(value, float):
        raise TypeError(f"{name} must be a float between 0 and 1 (e.g. 0.8), got {validate.shown(value)}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be more than 0 and less than 1, got {value:g}")
    return value
