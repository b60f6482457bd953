"""Stable Diffusion 3 and 3.5, text-to-image, checked against a reference in
tests/test_flow_families.py. Its loop reads ``pipe.guidance_scale`` at every step and hands its
prompt and pooled embeddings to step callbacks, so SD's CFG switch steers it."""

from __future__ import annotations

from typing import Any

from .encode import encode_together
from .steering import Embeddings
from .transformer import TransformerLoops


class StableDiffusion3(TransformerLoops):
    loops = ("StableDiffusion3Pipeline",)

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        super().check(pipe_kwargs)
        if "skip_guidance_layers" in pipe_kwargs:
            # Its extra pass conditions on the first prompt's embeddings, kept in a local before the
            # loop: neither a prompt edit nor CFG switched on from guidance ≤ 1 could reach it.
            raise TypeError(
                f"{type(self.pipe).__name__}: skip_guidance_layers (skip-layer guidance) cannot be steered: "
                "its pass keeps the first prompt"
            )

    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        return encode_together(self.pipe, prompt, negative_prompt, options, "pooled_prompt_embeds")
