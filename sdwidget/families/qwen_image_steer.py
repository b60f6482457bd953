"""Qwen-Image's true CFG, steered where step callbacks cannot reach it.

``QwenImagePipeline.__call__`` decides once, before its loop, whether to run true CFG
(``true_cfg_scale > 1`` with a negative prompt: a local), and keeps its scale, the negative
prompt's embeddings and both prompts' masks in locals; only ``prompt_embeds`` goes through step
callbacks. Its combination keeps the conditional output's norm over each token's channels:
``comb = neg + s × (cond − neg)``, then ``comb × (‖cond‖ / ‖comb‖)``. So the steering happens in
the transformer's ``forward``, as Flux's does (``flux_steer.py``):

- the pipeline is always started with a negative prompt and a true CFG scale above 1, so it calls
  the transformer twice a step;
- the first call computes the conditional output (the loop's own embeddings, with the mask of
  the prompt now in force) and, while the current scale is above 1, the unconditional one, and
  returns their combination by the pipeline's formula at the current scale;
- the second call returns that same tensor ``D``; the pipeline's combination of two equal outputs
  is ``D + s × 0 = D``, times ``‖D‖ / ‖D‖``, exactly 1 for any token whose output is finite and not
  all zero (one that is would make the bare pipeline's guided step NaN as well).

At a scale ≤ 1 a step costs one transformer call, as the pipeline's would without true CFG. The
output tap sits under this one: it keeps each step's calls stacked, ``[cond]`` or ``[cond, neg]``,
so a branch replays them and a guidance lens weighs them with the same combination (``NormCfgParts``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .flux_steer import TrueCfgParts
from .rows import fit
from .steering import Embeddings, OneKnob
from .wrap import swap_forward

# The pipeline's true CFG scale: any value above 1 makes it call twice; the combination is ours.
CALL_SCALE = 2.0


class QwenImageSteer(OneKnob):
    """The step hook's CFG switch for ``QwenImagePipeline``, and the transformer wrapper doing its work."""

    names = ["prompt_embeds"]  # the loop takes them back; a user's callback may change them too

    def __init__(self, pipe: Any, embeddings: Embeddings, end_step: Callable[[], None]) -> None:
        """``end_step``: the output tap's, told once a step's calls are made (one or two)."""
        self.pipe, self.end_step = pipe, end_step
        self.cond, self.uncond = dict(embeddings.cond), dict(embeddings.uncond)
        self._calls = 0
        self._combined: torch.Tensor | None = None

    def active(self, pipe: Any) -> bool:
        return float(pipe._guidance_scale) > 1

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        self.cond = dict(embeddings.cond)
        kwargs["prompt_embeds"] = fit(self.cond["prompt_embeds"].to(kwargs["prompt_embeds"].device), batch)
        if negative:
            self.uncond = dict(embeddings.uncond)

    def __enter__(self) -> QwenImageSteer:
        transformer = self.pipe.transformer
        original = transformer.forward  # the output tap's

        def forward(**kwargs: Any) -> Any:
            first, self._calls = self._calls % 2 == 0, self._calls + 1
            if first:
                self._combined = self._step(original, kwargs)
            assert self._combined is not None
            return (self._combined,) if not kwargs.get("return_dict", True) else _output(self._combined)

        self._undo = swap_forward(transformer, forward)
        return self

    def _step(self, original: Any, kwargs: dict[str, Any]) -> torch.Tensor:
        kwargs, rows = {**kwargs, "return_dict": False}, kwargs["hidden_states"].shape[0]
        # The loop's own embeddings (ours, or a user's callback's) with the mask of the prompt in force.
        cond = original(**{**kwargs, "encoder_hidden_states_mask": _mask(self.cond, rows)})[0]
        scale = float(self.pipe._guidance_scale)
        if scale <= 1:
            self.end_step()
            return cond
        uncond = {"encoder_hidden_states": fit(self.uncond["prompt_embeds"], rows),
                  "encoder_hidden_states_mask": _mask(self.uncond, rows)}  # fmt: skip
        with self.pipe.transformer.cache_context("uncond"):
            neg = original(**{**kwargs, **uncond})[0]
        self.end_step()
        return NormCfgParts.combine(neg, cond, scale, {})

    def __exit__(self, *exc: object) -> None:
        self._undo()


class NormCfgParts(TrueCfgParts):
    """A guidance lens's side of Qwen-Image's true CFG: the kept calls stacked as Flux's are, combined
    as the pipeline does, ``neg + scale × (cond − neg)`` brought back to the conditional output's
    norm over each token's channels."""

    @staticmethod
    def combine(uncond: torch.Tensor, cond: torch.Tensor, guidance: float, knobs: dict[str, float]) -> torch.Tensor:
        if guidance <= 1:
            return cond
        combined = uncond + guidance * (cond - uncond)
        return combined * (torch.norm(cond, dim=-1, keepdim=True) / torch.norm(combined, dim=-1, keepdim=True))


def _mask(half: dict[str, torch.Tensor], rows: int) -> torch.Tensor | None:
    """The half's token mask, one row per image; ``None`` where every token counts (as the encoder gives it)."""
    mask = half.get("prompt_embeds_mask")
    return None if mask is None else fit(mask, rows)


def _output(sample: torch.Tensor) -> Any:
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=sample)
