"""Encoding prompts once, before the run, with both halves of CFG.

A pipeline started at guidance ≤ 1 never encodes the negative prompt, so CFG could not be
switched on later; encoding here and passing embeddings in makes both directions possible and
costs nothing extra, as the pipeline then skips its own text encoding.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def encode_prompts(
    pipe, prompt: str, negative_prompt: str | None
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(keyword arguments for the pipeline call, unconditional halves for ``CfgSwitch``)."""
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
        return call, {"prompt_embeds": uncond}
    if len(out) == 4:
        cond, uncond, pooled, uncond_pooled = out
        call = {
            "prompt_embeds": cond,
            "negative_prompt_embeds": uncond,
            "pooled_prompt_embeds": pooled,
            "negative_pooled_prompt_embeds": uncond_pooled,
        }
        return call, {"prompt_embeds": uncond, "add_text_embeds": uncond_pooled}
    raise TypeError(f"{type(pipe).__name__}.encode_prompt returned {len(out)} tensors; expected 2 or 4")
