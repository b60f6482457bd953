"""A step that ran with CFG off, made again as a step under CFG: both halves for one model call.

At guidance ≤ 1 these loops (the UNet ones, SD3's) call their denoiser on the conditional rows
alone; under CFG they call it once on ``[unconditional, conditional]`` rows: the latents twice,
each conditioning tensor with its unconditional half first. ``Doubled`` keeps each step's call as
made (by reference: the loop makes new tensors each step) and, for a step that computed one half,
makes that call once with its rows doubled so, the unconditional halves taken from the CFG
switch's (as a step switched on takes them): the call a step under CFG makes, hence its halves to
the last bit. The kept conditional half is not reused: a batch of one differs from a row of a
batch of two by float rounding (up to 1e-5 on the tiny SD), more than a lens may.
"""

from __future__ import annotations

import threading
from typing import Any

import torch

from .rows import batch_rows, fit
from .wrap import swap_forward

UNET = {"encoder_hidden_states": "prompt_embeds", "text_embeds": "add_text_embeds", "time_ids": "add_time_ids"}
"""A UNet's conditioning arguments (and ``added_cond_kwargs``' keys) → the callback tensor of their halves."""
SD3 = {"encoder_hidden_states": "prompt_embeds", "pooled_projections": "pooled_prompt_embeds"}


class Doubled:
    """An ``OtherHalf`` (``recall.py``) for a loop that batches CFG's halves in one call.

    ``names``: the conditioning arguments and their callback tensors' names; ``rows``: the images
    of the call (a call on that many rows computed one half: only those are kept); ``negatives``:
    the CFG switch's unconditional halves by those names (a prompt edit with a negative updates
    them), given once the switch is made (``bind``). A name it lacks takes the conditional value,
    as the switch does."""

    def __init__(self, denoiser: Any, names: dict[str, str], rows: int) -> None:
        self.denoiser, self.names, self.rows = denoiser, names, rows
        self.forward = denoiser.forward  # read before the run's taps wrap it: the paid call is no step's
        self.negatives: dict[str, torch.Tensor] = {}
        # Per call: its arguments and the unconditional halves then (a later prompt edit brings its own).
        self._made: list[tuple[tuple, dict[str, Any], dict[str, torch.Tensor]]] = []
        self._steps: dict[int, list[tuple[tuple, dict[str, Any], dict[str, torch.Tensor]]]] = {}
        self._lock = threading.Lock()
        self._threads = torch.get_num_threads()

    def bind(self, negatives: dict[str, torch.Tensor]) -> Doubled:
        """Take the unconditional halves from ``negatives`` (the CFG switch's); returns itself."""
        self.negatives = negatives
        return self

    def __enter__(self) -> Doubled:
        wrapped = self.denoiser.forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            sample = args[0] if args else kwargs["hidden_states"]
            with self._lock:
                # A call under CFG is kept as an empty one: the step has both halves already.
                single = sample.shape[0] == self.rows
                self._made.append((args, dict(kwargs), dict(self.negatives)) if single else ((), {}, {}))
                self._threads = torch.get_num_threads()
            return wrapped(*args, **kwargs)

        self._undo = swap_forward(self.denoiser, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo()

    def end_step(self, step: int) -> None:
        with self._lock:
            self._steps[step], self._made = self._made, []

    def calls(self, step: int) -> int:
        with self._lock:
            made = self._steps.get(step, [])
        # An IP-Adapter's image embeddings are a list whose halves no switch keeps: no other half.
        if len(made) != 1 or not made[0][1]:
            return 0
        return 0 if "image_embeds" in (made[0][1].get("added_cond_kwargs") or {}) else 1

    def halves(self, step: int, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self._lock:
            ((args, kwargs, negatives),) = self._steps[step]
        rows = kept.shape[0]
        args = tuple(self._double("", value, rows, negatives) for value in args)
        kwargs = {name: self._double(name, value, rows, negatives) for name, value in kwargs.items()}
        if isinstance(kwargs.get("added_cond_kwargs"), dict):
            added = kwargs["added_cond_kwargs"]
            kwargs["added_cond_kwargs"] = {
                name: self._double(name, value, rows, negatives) for name, value in added.items()
            }
        before = torch.get_num_threads()
        torch.set_num_threads(self._threads)  # the run's count: it decides the order of sums
        try:
            with torch.no_grad():  # a thread of its own: the pipeline's no_grad is its thread's
                out = self.forward(*args, **{**kwargs, "return_dict": False})[0]
        finally:
            torch.set_num_threads(before)
        uncond, cond = out.chunk(2)
        return uncond, cond

    def _double(self, name: str, value: Any, rows: int, negatives: dict[str, torch.Tensor]) -> Any:
        """``value`` as the loop passes it under CFG: a conditioning tensor after its unconditional
        half, any other per-row tensor (latents, timesteps, masks) twice."""
        if not isinstance(value, torch.Tensor) or value.ndim == 0 or value.shape[0] != rows:
            return value
        if name not in self.names:
            return torch.cat([value, value])
        uncond = negatives.get(self.names[name], value)
        return torch.cat([fit(uncond.to(value.device), rows), value])


def unet_doubled(pipe: Any, weighted: bool, prompt: Any, pipe_kwargs: dict[str, Any]) -> Doubled | None:
    """A UNet loop's, built before the tap wraps the UNet (its call is no step's); none where a
    ControlNet conditions the UNet on halves of its own, or the loop weights CFG itself (``weighted``)."""
    own = weighted or getattr(pipe, "controlnet", None) is not None
    return None if own else Doubled(pipe.unet, UNET, batch_rows(prompt, pipe_kwargs))
