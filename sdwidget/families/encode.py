"""Encoding prompts with both halves of guidance, before a run or for a prompt edit during one.

A pipeline started at guidance ≤ 1 never encodes the negative prompt, so CFG could not be
switched on later; encoding here and passing embeddings in makes both directions possible and
costs nothing extra, as the pipeline then skips its own text encoding. A prompt edit is encoded
the same way on the caller's thread, so the step boundary only swaps tensors. Each family
encodes with one of the two helpers below, naming its pooled embeddings as its step callbacks
see them.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from .steering import Embeddings


def options_for(pipe: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The run's arguments that the pipeline would have encoded its prompts with (every prompt of
    a run, edits included, must have the same ``max_sequence_length``), and ``None`` for the
    extra prompts some encoders require (``prompt_2``: "the same prompt", as the pipeline passes it)."""
    accepted = inspect.signature(pipe.encode_prompt).parameters
    extra = {
        name: options[name] for name in ("max_sequence_length", "clip_skip") if name in options and name in accepted
    }
    return extra | {name: None for name in ("prompt_2", "prompt_3") if name in accepted}


@torch.no_grad()
def encode_together(pipe: Any, prompt: Any, negative_prompt: Any, options: dict[str, Any], pooled: str) -> Embeddings:
    """Both halves from one ``encode_prompt`` call that encodes the negative prompt too, one row
    per prompt; ``pooled``: the callback's name for pooled embeddings, where there are some."""
    out = pipe.encode_prompt(
        prompt=prompt, device=pipe._execution_device, num_images_per_prompt=1, do_classifier_free_guidance=True,
        negative_prompt=negative_prompt, **options_for(pipe, options),
    )  # fmt: skip
    if len(out) == 2:
        cond, uncond = out
        return Embeddings({"prompt_embeds": cond, "negative_prompt_embeds": uncond}, {"prompt_embeds": cond},
                          {"prompt_embeds": uncond})  # fmt: skip
    if len(out) == 4:
        return with_pooled(out[0], out[1], out[2], out[3], pooled)
    raise TypeError(f"{type(pipe).__name__}.encode_prompt returned {len(out)} tensors; expected 2 or 4")


@torch.no_grad()
def encode_apart(pipe: Any, prompt: Any, negative_prompt: Any, options: dict[str, Any], pooled: str) -> Embeddings:
    """Both halves from an ``encode_prompt`` that encodes one prompt: the negative one (empty
    unless given) is encoded apart, for a guidance the pipeline computes from it."""
    extra, device = options_for(pipe, options), pipe._execution_device
    cond, cond_pooled, _ = pipe.encode_prompt(prompt=prompt, device=device, num_images_per_prompt=1, **extra)
    if negative_prompt is None:
        negative_prompt = [""] * len(prompt) if isinstance(prompt, list) else ""
    uncond, uncond_pooled, _ = pipe.encode_prompt(
        prompt=negative_prompt, device=device, num_images_per_prompt=1, **extra
    )
    return with_pooled(cond, uncond, cond_pooled, uncond_pooled, pooled)


def with_pooled(
    cond: torch.Tensor, uncond: torch.Tensor, pooled: torch.Tensor, uncond_pooled: torch.Tensor, name: str
) -> Embeddings:
    call = {
        "prompt_embeds": cond,
        "negative_prompt_embeds": uncond,
        "pooled_prompt_embeds": pooled,
        "negative_pooled_prompt_embeds": uncond_pooled,
    }
    return Embeddings(call, {"prompt_embeds": cond, name: pooled}, {"prompt_embeds": uncond, name: uncond_pooled})
