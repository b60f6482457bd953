"""Switching classifier-free guidance off and on between two steps.

Under CFG the pipelines batch ``[unconditional, conditional]`` in every tensor they list in
``_callback_tensor_inputs`` besides the latents and the ``negative_*`` ones: the prompt
embeddings, SDXL's pooled embeddings and time ids, inpainting's ``mask`` and
``masked_image_latents``, ControlNet's conditioning ``image``. Switching off keeps the
conditional half (``chunk(2)[1]``, which unlike ``[-1:]`` also works for batches) and remembers
the unconditional one; switching on rebuilds the pair from the negative embeddings the runner
encoded before the run or from the halves remembered. Whether the tensors are doubled is read
off their batch size each time, so a user's own callback (``SDXLCFGCutoffCallback``, say) may
switch CFG too without confusing us.

ControlNet's guess mode is the one exception: its conditioning image stays single under CFG
(the ControlNet sees only the conditional latents). It is read off the layout the first time
CFG is seen on, else off the ControlNet's ``global_pool_conditions`` (which forces guess mode);
``prepare`` refuses ``guess_mode=True`` for a run that starts without CFG, where neither tells.
"""

from __future__ import annotations

from typing import Any

import torch

from .rows import fit
from .steering import Embeddings

# ControlNet conditioning images, single in guess mode; a list of tensors with several ControlNets.
CONTROL_IMAGES = ("image", "control_image")


class CfgSwitch:
    def __init__(self, pipe: Any, negatives: dict[str, torch.Tensor]) -> None:
        """``negatives`` maps a doubled tensor's name to its unconditional half; a missing name
        (``mask``, ``add_time_ids``) takes the half seen when CFG went off, else its own value."""
        inputs = list(pipe._callback_tensor_inputs)
        # prompt_embeds first: its batch size says whether CFG is on.
        self.names = ["prompt_embeds"] + [
            name
            for name in inputs
            if name not in ("latents", "prompt_embeds") and not name.startswith(("negative_", "add_neg_"))
        ]
        self.negatives = dict(negatives)
        self.guess: bool | None = None
        nets = getattr(getattr(pipe, "controlnet", None), "nets", None) or [getattr(pipe, "controlnet", None)]
        self._pooled = any(getattr(getattr(net, "config", None), "global_pool_conditions", False) for net in nets)

    @staticmethod
    def active(pipe: Any) -> bool:
        """Whether the pipeline runs CFG at its current guidance scale: its own
        ``do_classifier_free_guidance``, which also asks the UNet's config for an LCM guidance
        embedding (refused before a run: ``unet.lcm_refusal``), a ~100 µs read at every step."""
        return pipe._guidance_scale > 1

    def doubled(self, kwargs: dict, batch: int) -> bool:
        doubled = kwargs["prompt_embeds"].shape[0] == 2 * batch
        for name in CONTROL_IMAGES:
            if doubled and self.guess is None and name in kwargs:
                self.guess = _rows(kwargs[name]) != 2 * batch
        return doubled

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        """Put a new prompt's halves in ``kwargs`` (and, with ``negative``, its unconditional
        halves, also for a later switch back on), keeping the CFG layout as it is."""
        if negative:
            self.negatives.update(embeddings.uncond)
        doubled = self.doubled(kwargs, batch)
        for name, cond in embeddings.cond.items():
            if name in kwargs:
                cond = fit(cond.to(kwargs[name].device), batch)
                uncond = fit(self.negatives.get(name, cond).to(cond.device), batch)
                kwargs[name] = torch.cat([uncond, cond]) if doubled else cond

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        """Set ``guidance`` for the next step, reshaping the batched tensors in ``kwargs``."""
        pipe._guidance_scale = guidance
        want, have = self.active(pipe), self.doubled(kwargs, batch)
        if want == have:
            return
        guess = self._pooled if self.guess is None else self.guess
        for name in self.names:
            if name in CONTROL_IMAGES and guess:
                continue
            value = kwargs[name]
            if isinstance(value, list | tuple):  # several ControlNets: one image each
                kwargs[name] = [self._switch(f"{name}.{i}", v, batch, want) for i, v in enumerate(value)]
            else:
                kwargs[name] = self._switch(name, value, batch, want)

    @staticmethod
    def value(pipe: Any, name: str) -> float:
        """A later knob is a pipeline attribute its loop reads at every step (``guidance_rescale``)."""
        return float(getattr(pipe, f"_{name}"))

    @staticmethod
    def set(pipe: Any, name: str, value: float) -> None:
        setattr(pipe, f"_{name}", value)

    def _switch(self, name: str, value: torch.Tensor, batch: int, on: bool) -> torch.Tensor:
        if not on:
            uncond, cond = value.chunk(2)
            self.negatives.setdefault(name, uncond)
            return cond
        return torch.cat([fit(self.negatives.get(name, value).to(value.device), batch), value])


def _rows(value: Any) -> int:
    return (value[0] if isinstance(value, list | tuple) else value).shape[0]


class CfgParts:
    """A guidance lens's side of these loops: the UNet (or transformer) output of a step under CFG
    is the batch ``[unconditional, conditional]``, combined as ``uncond + g × (cond − uncond)``
    and, where the loop rescales (``guidance_rescale``), pulled back by diffusers' own
    ``rescale_noise_cfg``; at ``g`` ≤ 1 the loop runs the conditional half alone."""

    @staticmethod
    def halves(kept: torch.Tensor, rows: int) -> tuple[torch.Tensor, ...]:
        return tuple(kept.chunk(2)) if kept.shape[0] == 2 * rows else (kept,)

    @staticmethod
    def combine(uncond: torch.Tensor, cond: torch.Tensor, guidance: float, knobs: dict[str, float]) -> torch.Tensor:
        if guidance <= 1:
            return cond
        guided = uncond + guidance * (cond - uncond)
        rescale = knobs.get("guidance_rescale", 0.0)
        if rescale > 0:
            from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg

            guided = rescale_noise_cfg(guided, cond, guidance_rescale=rescale)
        return guided

    @staticmethod
    def settle(pipe: Any, guidance: float) -> None:
        pipe._guidance_scale = guidance
