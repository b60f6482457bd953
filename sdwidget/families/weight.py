"""Guidance for pipelines that weight CFG by their own ``guidance_scale`` argument.

Some ControlNet pipelines (each family's ``own_weight`` loops) combine the UNet's two halves
as ``uncond + guidance_scale × (cond − uncond)`` with the value they were called with, so
setting ``pipe._guidance_scale`` at a step boundary switches CFG on and off but leaves the
weight where it started. While a run is in progress the UNet's output is combined here instead,
with the current ``pipe.guidance_scale`` and the same formula, and handed back as both halves:
the pipeline's own combination of two equal halves, ``D + w × (D − D)``, is then exactly ``D``
whatever its ``w``.
"""

from __future__ import annotations

from typing import Any

import torch

from .wrap import swap_forward


class GuidanceWeight:
    """Wraps the UNet's ``forward`` for one pipeline call. Enter it inside the output tap, so a
    branch's replayed outputs are combined with the branch's guidance."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe

    def __enter__(self) -> GuidanceWeight:
        unet, pipe = self.pipe.unet, self.pipe
        original = unet.forward

        def forward(*args: Any, return_dict: bool = True, **kwargs: Any) -> Any:
            out = original(*args, return_dict=return_dict, **kwargs)
            if not pipe.do_classifier_free_guidance:
                return out
            uncond, cond = (out.sample if return_dict else out[0]).chunk(2)
            combined = uncond + pipe.guidance_scale * (cond - uncond)
            both = torch.cat([combined, combined])
            return type(out)(sample=both) if return_dict else (both,)

        self._undo = swap_forward(unet, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo()
