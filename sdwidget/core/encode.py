"""Encoding prompts with both halves of CFG, before a run or for a prompt edit during one.

A pipeline started at guidance ≤ 1 never encodes the negative prompt, so CFG could not be
switched on later; encoding here and passing embeddings in makes both directions possible and
costs nothing extra, as the pipeline then skips its own text encoding. A prompt edit is encoded
the same way on the caller's thread, so the step boundary only swaps tensors.

SD3 and Flux keep their pooled embeddings under ``pooled_prompt_embeds`` (SDXL's step callbacks
see them as ``add_text_embeds``). Flux has no negative prompt of its own: its
``encode_prompt`` encodes one prompt, so the negative one (empty unless given) is encoded apart,
for true CFG. Both read ``max_sequence_length`` from the run's arguments: every prompt of a run,
edits included, must have the same number of tokens.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Embeddings:
    """One prompt pair encoded: the pipeline's keyword arguments, and both halves by the names
    step callbacks see them under (``prompt_embeds``; the pooled ones too, where there are some)."""

    call: dict[str, torch.Tensor]
    cond: dict[str, torch.Tensor]
    uncond: dict[str, torch.Tensor]


@torch.no_grad()
def encode_prompts(
    pipe: Any, prompt: str | list[str], negative_prompt: str | list[str] | None, options: Mapping | None = None
) -> Embeddings:
    """Both halves, one row per prompt (SD and SDXL repeat them for ``num_images_per_prompt``;
    ``flow.call_arguments`` does it for SD3 and Flux, which do not).
    ``options``: the run's pipeline arguments (``max_sequence_length`` is read from them)."""
    device = pipe._execution_device
    options = options or {}
    accepted = inspect.signature(pipe.encode_prompt).parameters
    # The run's arguments that the pipeline would have encoded its prompts with.
    extra = {
        name: options[name] for name in ("max_sequence_length", "clip_skip") if name in options and name in accepted
    }
    # SD3 requires prompt_2 and prompt_3; None means "the same prompt", as the pipeline passes them.
    extra |= {name: None for name in ("prompt_2", "prompt_3") if name in accepted}
    if not _encodes_negatives(pipe):  # Flux
        cond, pooled, _ = pipe.encode_prompt(prompt=prompt, device=device, num_images_per_prompt=1, **extra)
        negative = negative_prompt if negative_prompt is not None else _empty_like(prompt)
        uncond, uncond_pooled, _ = pipe.encode_prompt(prompt=negative, device=device, num_images_per_prompt=1, **extra)
        return _pooled(cond, uncond, pooled, uncond_pooled, "pooled_prompt_embeds")
    out = pipe.encode_prompt(
        prompt=prompt,
        device=device,
        num_images_per_prompt=1,
        do_classifier_free_guidance=True,
        negative_prompt=negative_prompt,
        **extra,
    )
    if len(out) == 2:
        cond, uncond = out
        call = {"prompt_embeds": cond, "negative_prompt_embeds": uncond}
        return Embeddings(call, {"prompt_embeds": cond}, {"prompt_embeds": uncond})
    if len(out) == 4:
        pooled_name = "add_text_embeds" if "add_text_embeds" in pipe._callback_tensor_inputs else "pooled_prompt_embeds"
        return _pooled(out[0], out[1], out[2], out[3], pooled_name)
    raise TypeError(f"{type(pipe).__name__}.encode_prompt returned {len(out)} tensors; expected 2 or 4")


def _pooled(
    cond: torch.Tensor, uncond: torch.Tensor, pooled: torch.Tensor, uncond_pooled: torch.Tensor, name: str
) -> Embeddings:
    call = {
        "prompt_embeds": cond,
        "negative_prompt_embeds": uncond,
        "pooled_prompt_embeds": pooled,
        "negative_pooled_prompt_embeds": uncond_pooled,
    }
    return Embeddings(call, {"prompt_embeds": cond, name: pooled}, {"prompt_embeds": uncond, name: uncond_pooled})


def _encodes_negatives(pipe: Any) -> bool:
    """Whether ``encode_prompt`` encodes the negative prompt too (all but Flux)."""
    return "negative_prompt" in inspect.signature(pipe.encode_prompt).parameters


def _empty_like(prompt: str | list[str]) -> str | list[str]:
    return [""] * len(prompt) if isinstance(prompt, list) else ""
