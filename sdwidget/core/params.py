"""What a run is started with, checked in the caller's thread and recorded with the run."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from diffusers.callbacks import PipelineCallback

from ..families import Family
from . import validate
from .extras import recorded_extras
from .inputs import image_size, steps_run

# Arguments the runner owns; a user passing them would break the hook or the replayability.
_RESERVED = {
    "prompt", "negative_prompt", "prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds",
    "negative_pooled_prompt_embeds", "callback_on_step_end", "callback_on_step_end_tensor_inputs",
    "generator", "output_type", "return_dict", "latents", "prompt_2", "negative_prompt_2", "prompt_3",
    "negative_prompt_3",
}  # fmt: skip


def run_params(
    family: Family, prompt: Any, negative_prompt: Any, steps: Any, guidance: Any, seed: Any, height: Any, width: Any,
    pipe_kwargs: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The run's recorded parameters, each validated; a missing seed is drawn here, so it is
    recorded. The size is the one the pipeline will really use: the image's, for pipelines that
    take an image, unless given. ``steps_run`` is how many steps the loop runs (fewer than
    ``num_inference_steps`` with an img2img ``strength`` below 1); schedules have one value each."""
    pipe = family.pipe
    multiple = int(np.lcm(8, family.size_multiple()))
    prompt = validate.prompts("prompt", prompt)
    negative_prompt = validate.prompts("negative_prompt", negative_prompt, optional=True)
    if isinstance(prompt, list) and isinstance(negative_prompt, str):
        negative_prompt = [negative_prompt] * len(prompt)  # the pipelines want one per prompt
    if isinstance(negative_prompt, list) and not isinstance(prompt, list):
        raise TypeError("negative_prompt must be a string when prompt is one string, not a list")
    if isinstance(negative_prompt, list) and len(negative_prompt) != len(prompt):
        raise ValueError("negative_prompt must be one string, or a list with one per prompt in a list of prompts")
    steps = validate.steps(steps)
    height, width = image_size(pipe, pipe_kwargs, height, width, multiple)
    return {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "num_inference_steps": steps,
        "steps_run": steps_run(pipe, steps, pipe_kwargs),
        "guidance_scale": validate.guidance(guidance),
        "seed": random.randrange(2**32) if seed is None else _seeds(seed, prompt, pipe_kwargs),
        "seed_random": seed is None,  # drawn here: a widget keeps its Seed field empty for the next run
        "height": height,
        "width": width,
        "scheduler": type(pipe.scheduler).__name__,
        **family.state(),  # the pipe's settings the run depends on (IP-Adapter scales ...)
        # A JSON round trip, so the record holds plain values that a gallery can write and compare.
        "scheduler_config": json.loads(json.dumps(dict(pipe.scheduler.config), default=str)),
        "pipeline": type(pipe).__name__,
        # from_pretrained keeps what it was given, a Path included; a record holds text.
        "model": str(getattr(pipe, "name_or_path", None) or "") or None,
        # Every plain argument (guidance_rescale, eta, strength, ...), so a replay passes it again;
        # images and tensors are named only: a run keeps them in its plan, a gallery as files.
        "pipe_kwargs": {name: value for name, value in pipe_kwargs.items() if _plain(value)},
        "inputs": sorted(name for name, value in pipe_kwargs.items() if not _plain(value)),
        # The weights' type: a sweep loads the model in it by default (an fp16 run differs in float32).
        "dtype": str(getattr(pipe, "dtype", "") or "").removeprefix("torch.") or None,
        **recorded_extras(pipe),  # a LoRA, a swapped VAE, added tokens: what a sweep cannot load
    }


def _seeds(seed: Any, prompt: str | list[str], pipe_kwargs: dict[str, Any]) -> int | list[int]:
    """One seed, or one per image (checked here: the pipeline would refuse it in the run's thread)."""
    seed = validate.seeds(seed)
    images = (len(prompt) if isinstance(prompt, list) else 1) * pipe_kwargs.get("num_images_per_prompt", 1)
    if isinstance(seed, list) and len(seed) != images:
        raise ValueError(
            f"a list of seeds gives one per image: this run makes {images} (prompts × num_images_per_prompt), "
            f"got {len(seed)} seeds"
        )
    return seed


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON text, numbers, booleans, ``None`` or lists of them."""
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, bool | int | float | str)


def check_extra(family: Family, callbacks: Sequence[Any], pipe_kwargs: dict[str, Any]) -> None:
    pipe = family.pipe
    for callback in callbacks:
        if not isinstance(callback, PipelineCallback):
            raise TypeError(f"callbacks must be diffusers PipelineCallback objects, got {type(callback).__name__}")
    accepted = family.arguments()
    for name in pipe_kwargs:
        if name in _RESERVED or name not in accepted:
            raise TypeError(f"{name!r} cannot be passed to {type(pipe).__name__} through the runner")
    if "num_images_per_prompt" in pipe_kwargs:
        validate.integer("num_images_per_prompt", pipe_kwargs["num_images_per_prompt"], 1, validate.MAX_BATCH)
    family.check(pipe_kwargs)  # what its loop cannot steer
    for name in family.scale_arguments:
        if name in pipe_kwargs:
            validate.guidance(pipe_kwargs[name], name)
    for name in ("image", "mask_image", "control_image"):
        if name in accepted and pipe_kwargs.get(name) is None:
            raise TypeError(f"{type(pipe).__name__} needs {name}=...: pass it to start() or replay()")
