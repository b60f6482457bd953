"""Z-Image's steering: the loop's own CFG, fed the lists its transformer takes and returns.

``ZImagePipeline.__call__`` reads ``pipe.guidance_scale`` at every step, both to decide whether
to run CFG (on above 0) and to mix ``pos + g × (pos − neg)``, and takes ``prompt_embeds`` and
``negative_prompt_embeds`` back from step callbacks; so a knob change is ``pipe._guidance_scale``
and a prompt edit is the callback's lists, and the pipeline's own code does every step's mix, its
``cfg_normalization`` and its ``cfg_truncation`` (see ``z_image.py`` for the one case refused).

What no hook can take as it is: its transformer is called once a step, on a list of latents (two
rows an image under CFG) and a list of embeddings of each prompt's own length, and returns a list.
The output tap keeps and replays one tensor a step, so ``ListStep`` is the family's ``denoiser``:
the transformer's ``forward`` calls it and hands the pipeline its stacked output back as a list.
It keeps the rows as the loop hands an unguided step's to its scheduler (in float, the frame axis
dropped, negated: the loop's velocity points the other way), the prompt's first and, under CFG,
the negative prompt's after them; the pipeline gets them back exactly (float is what it mixes in).
So a step's kept output is what its scheduler took where it ran one half, and ``ZImageParts``
mixes the two halves of any other step as the loop does, for a guidance lens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .rows import fit
from .steering import Embeddings, OneKnob
from .wrap import swap_forward


class ListStep:
    """The denoiser the tap wraps: the transformer's output list, stacked as the scheduler takes
    it (``original`` is set by ``ZImageSteer`` for the length of one pipeline call)."""

    def __init__(self) -> None:
        self.original: Callable[..., Any] | None = None

    def forward(self, *args: Any, return_dict: bool = False, **kwargs: Any) -> tuple[torch.Tensor]:
        assert self.original is not None, "ListStep called outside a steered pipeline call"
        samples = self.original(*args, return_dict=False, **kwargs)[0]
        return (-torch.stack([sample.float() for sample in samples]).squeeze(2),)


def as_list(half: dict[str, torch.Tensor], rows: int) -> list[torch.Tensor]:
    """One half's embeddings as the pipeline's list, one entry per image, each its prompt's own
    tokens (``encode`` keeps them padded, with the mask of those that count)."""
    embeds, mask = fit(half["prompt_embeds"], rows), fit(half["prompt_embeds_mask"], rows)
    return [row[keep] for row, keep in zip(embeds, mask, strict=True)]


class ZImageSteer(OneKnob):
    """The step hook's switch for ``ZImagePipeline``, and the transformer wrapper it needs."""

    names = ["prompt_embeds"]  # a list: the loop takes it back, and ``negative_prompt_embeds`` too

    def __init__(self, pipe: Any, step: ListStep, rows: int) -> None:
        self.pipe, self.step, self.rows = pipe, step, rows
        self.doubled = False

    def active(self, pipe: Any) -> bool:
        """Whether the step that just ran had CFG: its transformer call carried two rows an image
        (off at a guidance of 0, and past ``cfg_truncation``, which the pipeline decides)."""
        return self.doubled

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        kwargs["prompt_embeds"] = as_list(embeddings.cond, batch)
        if negative:  # not one of the loop's callback inputs, but it takes it back when given
            kwargs["negative_prompt_embeds"] = as_list(embeddings.uncond, batch)

    def __enter__(self) -> ZImageSteer:
        transformer = self.pipe.transformer
        self.step.original = transformer.forward

        def forward(*args: Any, return_dict: bool = True, **kwargs: Any) -> Any:
            latents = args[0] if args else kwargs["x"]
            self.doubled = len(latents) > self.rows
            samples = list((-self.step.forward(*args, return_dict=False, **kwargs)[0]).unsqueeze(2).unbind(0))
            return (samples,) if not return_dict else _output(samples)

        self._undo = swap_forward(transformer, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo()
        self.step.original = None


class ZImageParts:
    """A guidance lens's side of Z-Image's loop: a step's kept rows (``ListStep``'s) are the
    prompt's and, under CFG, the negative prompt's after them, mixed as the loop does at a CFG
    step, ``pos + g × (pos − neg)`` per image and, with ``cfg_normalization``, capped at that
    multiple of ``pos``'s norm; at ``g`` ≤ 0 the loop runs the prompt alone. Steps past
    ``cfg_truncation`` run the prompt alone whatever ``g`` is: one half kept, no lens above 0."""

    def __init__(self, normalization: float) -> None:
        """``normalization``: the run's ``cfg_normalization``, read by the loop at every CFG step."""
        self.normalization = normalization

    @staticmethod
    def halves(kept: torch.Tensor, rows: int) -> tuple[torch.Tensor, ...]:
        return (kept[rows:], kept[:rows]) if kept.shape[0] == 2 * rows else (kept,)

    def combine(
        self, uncond: torch.Tensor, cond: torch.Tensor, guidance: float, knobs: dict[str, float]
    ) -> torch.Tensor:
        if guidance <= 0:
            return cond
        preds = []
        # The loop's own arithmetic and shapes on its own (un-negated, frame-axis) outputs, image by image.
        for pos, neg in zip(-cond.unsqueeze(2), -uncond.unsqueeze(2), strict=True):
            pred = pos + guidance * (pos - neg)
            if self.normalization and float(self.normalization) > 0.0:
                norm, cap = torch.linalg.vector_norm(pred), torch.linalg.vector_norm(pos) * float(self.normalization)
                if norm > cap:
                    pred = pred * (cap / norm)
            preds.append(pred)
        return -torch.stack(preds).squeeze(2)

    @staticmethod
    def settle(pipe: Any, guidance: float) -> None:
        pipe._guidance_scale = guidance


def _output(samples: list[torch.Tensor]) -> Any:
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=samples)  # the model's own holds a list too
