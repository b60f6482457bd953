"""Flux's guidance, steered where step callbacks cannot reach it.

``FluxPipeline.__call__`` builds its distilled guidance embedding once, as a local tensor
(``guidance``), and does true CFG in a second transformer call whose scale, negative embeddings and
pooled embeddings are all locals too. So the steering happens in the transformer's ``forward``:

- the distilled guidance (FLUX.1-dev's ``guidance_embeds``) is replaced at every call by the
  current ``pipe.guidance_scale``, exactly as the pipeline would have built it;
- the prompt's T5 embeddings are the loop's own ``prompt_embeds``, which step callbacks see and
  swap (a prompt edit, or a user's callback); its pooled CLIP embeddings, which no callback sees,
  are put in at every call, so an edit takes effect at the next step;
- true CFG is combined here: the pipeline is always started with a negative prompt and a true
  CFG scale above 1, so it calls the transformer twice per step. The first call computes the
  conditional output and, while the current scale is above 1, the unconditional one, and returns
  their combination ``neg + scale × (cond − neg)`` (the pipeline's own formula); the second call
  returns that same tensor, computing nothing, and the pipeline's combination of two equal
  outputs, ``D + s × (D − D)``, is exactly ``D``. At a scale ≤ 1 the step costs one call, as the
  pipeline's would without true CFG.

Which scale is steered is the family's choice (``flux.py``). The output tap sits under this
one: it keeps each call's output, the conditional and the negative, so a branch replays them
and recombines them with its own scale, and a guidance lens weighs them at any value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .recall import CallRecord
from .rows import fit
from .steering import Embeddings, OneKnob
from .wrap import swap_forward

# The pipeline's true CFG scale: any value above 1 makes it call twice; the combination is ours.
CALL_SCALE = 2.0


class FluxSteer(OneKnob):
    """The step hook's CFG switch for ``FluxPipeline``, and the transformer wrapper doing its work."""

    names = ["prompt_embeds"]  # the T5 embeddings: the loop takes them back, a user's callback may change them

    def __init__(
        self, pipe: Any, embeddings: Embeddings, true_cfg_scale: float, end_step: Callable[[], None],
        record: CallRecord | None = None,
    ) -> None:  # fmt: skip
        """``end_step``: the output tap's, told once a step's calls are made (their number varies);
        ``record``: keeps each call as made, for a paid lens (distilled guidance)."""
        self.pipe, self.end_step, self.record = pipe, end_step, record
        self.distilled, self.true_cfg_scale = bool(pipe.transformer.config.guidance_embeds), true_cfg_scale
        self.cond, self.uncond = dict(embeddings.cond), dict(embeddings.uncond)
        self._calls = 0
        self._combined: torch.Tensor | None = None
        self._fitted: tuple[dict, int, dict[str, torch.Tensor]] | None = None

    def scale(self) -> float:
        """The true CFG scale of the next step."""
        return self.true_cfg_scale if self.distilled else float(self.pipe.guidance_scale)

    def active(self, pipe: Any) -> bool:
        return self.scale() > 1

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        self.cond = dict(embeddings.cond)
        kwargs["prompt_embeds"] = fit(self.cond["prompt_embeds"].to(kwargs["prompt_embeds"].device), batch)
        if negative:
            self.uncond = dict(embeddings.uncond)

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def __enter__(self) -> FluxSteer:
        transformer = self.pipe.transformer
        original = transformer.forward

        def forward(**kwargs: Any) -> Any:
            first, self._calls = self._calls % 2 == 0, self._calls + 1
            if first:
                self._combined = self._step(original, kwargs)
            assert self._combined is not None
            return (self._combined,) if not kwargs.get("return_dict", True) else _output(self._combined)

        self._undo = swap_forward(transformer, forward)
        return self

    def _step(self, original: Any, kwargs: dict[str, Any]) -> torch.Tensor:
        rows = kwargs["hidden_states"].shape[0]
        if self.distilled and kwargs.get("guidance") is not None:
            kwargs["guidance"] = torch.full_like(kwargs["guidance"], float(self.pipe.guidance_scale))
        kwargs["return_dict"] = False
        # The loop's own T5 embeddings (ours, or a user's callback's); the pooled ones, which no callback sees, ours.
        pooled = fit(self.cond["pooled_prompt_embeds"], rows)
        cond = original(**self._keep({**kwargs, "pooled_projections": pooled}))[0]
        scale = self.scale()
        if scale <= 1:
            self.end_step()
            return cond
        with self.pipe.transformer.cache_context("uncond"):
            neg = original(**self._keep({**kwargs, **self._negative(rows)}))[0]
        self.end_step()
        return TrueCfgParts.combine(neg, cond, scale, {})

    def _negative(self, rows: int) -> dict[str, torch.Tensor]:
        """The negative half fitted to ``rows`` once per prompt, not per step (a paid lens keeps every call's)."""
        if self._fitted is None or self._fitted[0] is not self.uncond or self._fitted[1] != rows:
            self._fitted = (self.uncond, rows, _conditioning(self.uncond, rows))
        return self._fitted[2]

    def _keep(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.record is not None:
            self.record.keep(kwargs)
        return kwargs

    def __exit__(self, *exc: object) -> None:
        self._undo()


class TrueCfgParts:
    """A guidance lens's side of true CFG combined here: a step's kept output is its calls
    stacked, ``[cond]`` or ``[cond, neg]`` (the tap sits under the steer), combined as the
    pipeline's ``neg + scale × (cond − neg)``."""

    @staticmethod
    def halves(kept: torch.Tensor, rows: int) -> tuple[torch.Tensor, ...]:
        return (kept[1], kept[0]) if kept.shape[0] == 2 else (kept[0],)

    @staticmethod
    def combine(uncond: torch.Tensor, cond: torch.Tensor, guidance: float, knobs: dict[str, float]) -> torch.Tensor:
        return cond if guidance <= 1 else uncond + guidance * (cond - uncond)

    @staticmethod
    def settle(pipe: Any, guidance: float) -> None:
        pipe._guidance_scale = guidance


def _conditioning(half: dict[str, torch.Tensor], rows: int) -> dict[str, torch.Tensor]:
    # Overrides the call's own: one row per image, as the pipeline repeats for num_images_per_prompt.
    return {
        "encoder_hidden_states": fit(half["prompt_embeds"], rows),
        "pooled_projections": fit(half["pooled_prompt_embeds"], rows),
    }


def _output(sample: torch.Tensor) -> Any:
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=sample)
