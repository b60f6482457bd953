"""The size and the number of steps a pipeline will really use, read off its image arguments.

Image-to-image, inpainting and ControlNet pipelines take their size from an image unless given
one (image-to-image takes no size at all), and image-to-image and inpainting run only
``int(num_inference_steps × strength)`` steps. Recording the UNet's default size and the full
step count instead would make records, schedules and replays disagree with what ran.
"""

from __future__ import annotations

import inspect
import math
from numbers import Real
from typing import Any

from . import validate


def image_size(pipe: Any, pipe_kwargs: dict[str, Any], height: Any, width: Any, multiple: int) -> tuple[int, int]:
    """(height, width), validated: given, else the image's rounded down to ``multiple``, else the UNet's default."""
    accepted = inspect.signature(pipe.__call__).parameters
    image = pipe_kwargs.get("image")
    if isinstance(image, list | tuple) and image:
        image = image[0]  # several ControlNets or a batch of images: the pipelines size by the first
    if image is None:
        default = pipe.unet.config.sample_size * pipe.vae_scale_factor
        return tuple(  # type: ignore[return-value]
            validate.side(name, default if value is None else value, multiple)
            for name, value in (("height", height), ("width", width))
        )
    own = pipe.image_processor.get_default_height_width(image)
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
    """How many denoising steps the loop runs: ``min(int(steps × strength), steps)`` where the
    pipeline takes a ``strength`` (validated here: the pipeline would only raise in the run's thread)."""
    parameter = inspect.signature(pipe.__call__).parameters.get("strength")
    if parameter is None:
        return steps
    strength = pipe_kwargs.get("strength", parameter.default)
    if isinstance(strength, bool) or not isinstance(strength, Real):
        raise TypeError(f"strength must be a number between 0 and 1, got {validate.shown(strength)}")
    strength = float(strength)
    if not (math.isfinite(strength) and 0 < strength <= 1):
        raise ValueError(f"strength must be more than 0 and at most 1, got {strength:g}")
    run = min(int(steps * strength), steps)
    if run < 1:
        raise ValueError(f"num_inference_steps × strength = {steps} × {strength:g} leaves no step to run; raise either")
    return run
