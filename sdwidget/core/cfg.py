"""Switching classifier-free guidance off and on between two steps.

Under CFG the pipelines batch ``[unconditional, conditional]`` in a few tensors. Switching off
keeps the conditional half (``chunk(2)[1]``, which unlike ``[-1:]`` also works for batches of
several images); switching on rebuilds the pair from the negative embeddings the runner encoded
before the run. Whether the tensors are doubled is read off their batch size each time, so a
user's own callback (``SDXLCFGCutoffCallback``, say) may switch CFG too without confusing us.
"""

from __future__ import annotations

from typing import Any

import torch

from .encode import Embeddings

# The tensors SD 1.x/2.x and SDXL double under CFG, in the order the pipelines build them.
DOUBLED = ("prompt_embeds", "add_text_embeds", "add_time_ids")


class CfgSwitch:
    def __init__(self, pipe: Any, negatives: dict[str, torch.Tensor]) -> None:
        """``negatives`` maps a doubled tensor's name to its unconditional half; a missing name
        (``add_time_ids``) has the same unconditional and conditional halves."""
        self.names = [name for name in DOUBLED if name in pipe._callback_tensor_inputs]
        self.negatives = dict(negatives)

    @staticmethod
    def active(pipe: Any) -> bool:
        """Whether the pipeline runs CFG at its current guidance scale."""
        return bool(pipe.do_classifier_free_guidance)

    def doubled(self, kwargs: dict, batch: int) -> bool:
        return kwargs[self.names[0]].shape[0] == 2 * batch

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        """Put a new prompt's halves in ``kwargs`` (and, with ``negative``, its unconditional
        halves, also for a later switch back on), keeping the CFG layout as it is."""
        if negative:
            self.negatives.update(embeddings.uncond)
        doubled = self.doubled(kwargs, batch)
        for name, cond in embeddings.cond.items():
            if name in kwargs:
                uncond = self.negatives.get(name, cond)
                kwargs[name] = torch.cat([uncond, cond]) if doubled else cond

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        """Set ``guidance`` for the next step, reshaping the batched tensors in ``kwargs``."""
        pipe._guidance_scale = guidance
        want, have = self.active(pipe), self.doubled(kwargs, batch)
        if want and not have:
            for name in self.names:
                cond = kwargs[name]
                kwargs[name] = torch.cat([self.negatives.get(name, cond).to(cond.device), cond])
        elif have and not want:
            for name in self.names:
                kwargs[name] = kwargs[name].chunk(2)[1]
