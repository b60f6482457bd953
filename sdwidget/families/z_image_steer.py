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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .protocol import Embeddings, OneKnob
from .rows import fit
from .wrap import swap_forward


class ListStep:
    """The denoiser the tap wraps: the transformer's output list, stacked (``original`` is set
    by ``ZImageSteer`` for the length of one pipeline call)."""

    def __init__(self) -> None:
        self.original: Callable[..., Any] | None = None

    def forward(self, *args: Any, return_dict: bool = False, **kwargs: Any) -> tuple[torch.Tensor]:
        assert self.original is not None, "ListStep called outside a steered pipeline call"
        return (torch.stack(self.original(*args, return_dict=False, **kwargs)[0]),)


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
            samples = list(self.step.forward(*args, return_dict=False, **kwargs)[0].unbind(0))
            return (samples,) if not return_dict else _output(samples)

        self._undo = swap_forward(transformer, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo()
        self.step.original = None


def _output(samples: list[torch.Tensor]) -> Any:
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=samples)  # the model's own holds a list too
