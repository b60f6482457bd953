"""Chroma's true CFG, steered where step callbacks cannot reach it.

``ChromaPipeline.__call__`` reads whether to run CFG off ``pipe.guidance_scale`` at every step (the
second transformer call happens only above 1), but combines the two calls with its
``guidance_scale`` argument, a local, and conditions the second call on negative embeddings,
text ids and attention masks that are all locals; the prompt's attention mask is a local too, so
a prompt edit through ``prompt_embeds`` alone would keep the first prompt's mask. So the steering
happens in the transformer's ``forward``:

- the first call of a step computes the conditional output with the mask of the prompt now in
  force and, while ``pipe.guidance_scale`` is above 1, the unconditional one with the negative
  prompt's embeddings and mask, and returns their combination ``neg + scale × (cond − neg)`` (the
  pipeline's own formula, at the current scale: ``TrueCfgParts``, Flux's);
- the pipeline then makes its second call only where CFG is on, exactly when we said it would;
  that call returns the same tensor, and the pipeline's ``D + s × (D − D)`` is exactly ``D``.

A step costs one call at guidance ≤ 1 and two above, as the bare pipeline's would. The output tap
sits under this one, as Flux's does: it keeps each step's calls stacked, ``[cond]`` or
``[cond, neg]``, so a branch replays them and a guidance lens weighs them at any value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .flux_steer import TrueCfgParts
from .rows import fit
from .steering import Embeddings, OneKnob
from .wrap import swap_forward


class ChromaSteer(OneKnob):
    """The step hook's CFG switch for ``ChromaPipeline``, and the transformer wrapper doing its work."""

    names = ["prompt_embeds"]  # the loop takes them back; a user's callback may change them too

    def __init__(self, pipe: Any, embeddings: Embeddings, end_step: Callable[[], None]) -> None:
        """``end_step``: the output tap's, told once a step's calls are made (one or two)."""
        self.pipe, self.end_step = pipe, end_step
        self.cond, self.uncond = dict(embeddings.cond), dict(embeddings.uncond)
        self._pending: torch.Tensor | None = None  # the step's output, for the pipeline's second call

    def active(self, pipe: Any) -> bool:
        return float(pipe._guidance_scale) > 1  # the pipeline's own do_classifier_free_guidance

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        self.cond = dict(embeddings.cond)
        kwargs["prompt_embeds"] = fit(self.cond["prompt_embeds"].to(kwargs["prompt_embeds"].device), batch)
        if negative:
            self.uncond = dict(embeddings.uncond)

    def __enter__(self) -> ChromaSteer:
        transformer = self.pipe.transformer
        original = transformer.forward  # the output tap's

        def forward(**kwargs: Any) -> Any:
            if self._pending is not None:  # the pipeline's second call of a CFG step
                out, self._pending = self._pending, None
            else:
                out = self._guided(original, kwargs)
                self._pending = out if self.active(self.pipe) else None
            return (out,) if not kwargs.get("return_dict", True) else _output(out)

        self._undo = swap_forward(transformer, forward)
        return self

    def _guided(self, original: Any, kwargs: dict[str, Any]) -> torch.Tensor:
        kwargs = {**kwargs, "return_dict": False}
        # The loop's own T5 embeddings (ours, or a user's callback's) with the mask of the prompt in force.
        cond = original(**{**kwargs, "attention_mask": self._mask(self.cond, kwargs)})[0]
        if not self.active(self.pipe):
            self.end_step()
            return cond
        uncond = {"encoder_hidden_states": fit(self.uncond["prompt_embeds"], kwargs["hidden_states"].shape[0]),
                  "attention_mask": self._mask(self.uncond, kwargs)}  # fmt: skip
        # txt_ids are zeros of the padded length (max_sequence_length), the same for both prompts.
        neg = original(**{**kwargs, **uncond})[0]
        self.end_step()
        return TrueCfgParts.combine(neg, cond, float(self.pipe._guidance_scale), {})

    def _mask(self, half: dict[str, torch.Tensor], kwargs: dict[str, Any]) -> torch.Tensor:
        """The half's T5 mask extended over the image tokens, as the pipeline builds it before its loop."""
        latents = kwargs["hidden_states"]
        mask = fit(half["prompt_attention_mask"].to(latents.device), latents.shape[0])
        return self.pipe._prepare_attention_mask(latents.shape[0], latents.shape[1], latents.dtype, mask)

    def __exit__(self, *exc: object) -> None:
        self._undo()


def _output(sample: torch.Tensor) -> Any:
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=sample)
