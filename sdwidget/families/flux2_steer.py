"""FLUX.2 [klein]'s CFG, steered where step callbacks cannot reach it.

``Flux2KleinPipeline.__call__`` decides at every step off ``pipe.guidance_scale`` whether to make
its second, negative transformer call (on above 1), but mixes the calls with its ``guidance_scale``
argument, a local, and keeps the negative prompt's embeddings and text ids in locals, made only
where CFG is on at the start. So, as for Chroma (``chroma_steer.py``):

- the pipeline is started at ``CALL_SCALE``, above 1, so it makes its negative locals whatever
  the run's first guidance; the transformer's first call of the run puts the run's own guidance
  in ``pipe._guidance_scale`` before the pipeline reads it for the second call;
- a step's first call computes the conditional output and, above 1, the negative one, and returns
  their mix ``neg + g × (cond − neg)`` at the current scale; the pipeline makes its second call
  exactly when that scale is above 1, gets the same tensor ``D`` and mixes ``D + s × (D − D) = D``.

A step costs one call at guidance ≤ 1 and two above, as the bare pipeline's would. The mix is
Flux's true CFG (``TrueCfgParts``). The output tap sits under this one: it keeps each step's calls
stacked, ``[cond]`` or ``[cond, neg]``, so a branch replays them and a guidance lens weighs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .chroma_steer import _output
from .flux_steer import TrueCfgParts
from .rows import fit
from .steering import Embeddings, OneKnob
from .wrap import swap_forward

# The pipeline's own guidance_scale: above 1, so it makes its negative locals; the mix is ours.
CALL_SCALE = 2.0


class KleinSteer(OneKnob):
    """The step hook's CFG switch for ``Flux2KleinPipeline``, and the transformer wrapper doing its work."""

    names = ["prompt_embeds"]  # the loop takes them back; a user's callback may change them too

    def __init__(self, pipe: Any, embeddings: Embeddings, start: float, end_step: Callable[[], None]) -> None:
        """``end_step``: the output tap's, told once a step's calls are made (one or two)."""
        self.pipe, self.end_step = pipe, end_step
        self.uncond = dict(embeddings.uncond)
        self._start: float | None = start  # put in at the run's first call
        self._pending: torch.Tensor | None = None  # the step's output, for the pipeline's second call

    def active(self, pipe: Any) -> bool:
        return float(pipe._guidance_scale) > 1  # the pipeline's own do_classifier_free_guidance

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        kwargs["prompt_embeds"] = fit(embeddings.cond["prompt_embeds"].to(kwargs["prompt_embeds"].device), batch)
        if negative:
            self.uncond = dict(embeddings.uncond)

    def __enter__(self) -> KleinSteer:
        transformer = self.pipe.transformer
        original = transformer.forward  # the output tap's

        def forward(**kwargs: Any) -> Any:
            if self._start is not None:  # the run's first call: its own guidance, not CALL_SCALE
                self.pipe._guidance_scale, self._start = self._start, None
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
        cond = original(**kwargs)[0]  # the loop's own embeddings: ours, or a user's callback's
        if not self.active(self.pipe):
            self.end_step()
            return cond
        negative = fit(self.uncond["prompt_embeds"], kwargs["hidden_states"].shape[0])
        # Its text ids are those of any prompt padded to the same length: the call's own serve.
        with self.pipe.transformer.cache_context("uncond"):
            neg = original(**{**kwargs, "encoder_hidden_states": negative})[0]
        self.end_step()
        return TrueCfgParts.combine(neg, cond, float(self.pipe._guidance_scale), {})

    def __exit__(self, *exc: object) -> None:
        self._undo()
