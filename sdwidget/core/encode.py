"""Encoding prompts with both halves of CFG, before a run or for a prompt edit during one.

A pipeline started at guidance ≤ 1 never encodes the negative prompt, so CFG could not be
switched on later; encoding here and passing embeddings in makes both directions possible and
costs nothing extra, as the pipeline then skips its own text encoding. A prompt edit is encoded
the same way on the caller's thread, so the step boundary only swaps tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Embeddings:
    """One prompt pair encoded: the pipeline's keyword arguments, and both halves by the names
    step callbacks see them under (``prompt_embeds``; SDXL's pooled ``add_text_embeds`` too)."""

    call: dict[str, torch.Tensor]
    cond: dict[str, torch.Tensor]
    uncond: dict[str, torch.Tensor]


@torch.no_grad()
def encode_prompts(pipe: Any, prompt: str | list[str], negative_prompt: str | list[str] | None) -> Embeddings:
    """Both halves, one row per prompt: the pipeline repeats them for ``num_images_per_prompt``."""
    out = pipe.encode_prompt(
        prompt=prompt,
        device=pipe._execution_device,
        num_images_per_prompt=1,
        do_classifier_free_guidance=True,
        negative_prompt=negative_prompt,
    )
    if len(out) == 2:
        cond, uncond = out
        call = {"prompt_embeds": cond, "negative_prompt_embeds": uncond}
        return Embeddings(call, {"prompt_embeds": cond}, {"prompt_embeds": uncond})
    if len(out) == 4:
        cond, uncond, pooled, uncond_pooled = out
        call = {
            "prompt_embeds": cond,
            "negative_prompt_embeds": uncond,
            "pooled_prompt_embeds": pooled,
            "negative_pooled_prompt_embeds": uncond_pooled,
        }
        return Embeddings(
            call,
            {"prompt_embeds": cond, "add_text_embeds": pooled},
            {"prompt_embeds": uncond, "add_text_embeds": uncond_pooled},
        )
    raise TypeError(f"{type(pipe).__name__}.encode_prompt returned {len(out)} tensors; expected 2 or 4")
