"""What a run is started with, checked in the caller's thread and recorded with the run."""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from diffusers.callbacks import PipelineCallback

from . import validate

# Arguments the runner owns; a user passing them would break the hook or the replayability.
_RESERVED = {
    "prompt", "negative_prompt", "prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds",
    "negative_pooled_prompt_embeds", "callback_on_step_end", "callback_on_step_end_tensor_inputs",
    "generator", "output_type", "num_images_per_prompt", "return_dict", "latents",
}  # fmt: skip


def run_params(
    pipe: Any, prompt: Any, negative_prompt: Any, steps: Any, guidance: Any, seed: Any, height: Any, width: Any
) -> dict[str, Any]:
    """The run's recorded parameters, each validated; a missing seed is drawn here, so it is recorded."""
    multiple = int(np.lcm(8, pipe.vae_scale_factor))
    default = pipe.unet.config.sample_size * pipe.vae_scale_factor
    return {
        "prompt": validate.prompt("prompt", prompt),
        "negative_prompt": validate.prompt("negative_prompt", negative_prompt, optional=True),
        "num_inference_steps": validate.steps(steps),
        "guidance_scale": validate.guidance(guidance),
        "seed": random.randrange(2**32) if seed is None else validate.seed(seed),
        "seed_random": seed is None,  # drawn here: a widget keeps its Seed field empty for the next run
        "height": validate.side("height", default if height is None else height, multiple),
        "width": validate.side("width", default if width is None else width, multiple),
        "scheduler": type(pipe.scheduler).__name__,
        # A JSON round trip, so the record holds plain values that a gallery can write and compare.
        "scheduler_config": json.loads(json.dumps(dict(pipe.scheduler.config), default=str)),
        "pipeline": type(pipe).__name__,
        # from_pretrained keeps what it was given, a Path included; a record holds text.
        "model": str(getattr(pipe, "name_or_path", None) or "") or None,
    }


def check_extra(pipe: Any, callbacks: Sequence[Any], pipe_kwargs: dict[str, Any]) -> None:
    for callback in callbacks:
        if not isinstance(callback, PipelineCallback):
            raise TypeError(f"callbacks must be diffusers PipelineCallback objects, got {type(callback).__name__}")
    accepted = inspect.signature(pipe.__call__).parameters
    for name in pipe_kwargs:
        if name in _RESERVED or name not in accepted:
            raise TypeError(f"{name!r} cannot be passed to {type(pipe).__name__} through the runner")
