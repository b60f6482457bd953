"""The UNet's output of every step, kept so that a branch can go back to any step for free.

A step's UNet output, fed back through the same scheduler with the same generator, gives the same
latents, the same multistep state (DPM++) and the same drawn noise (ancestral samplers) as the
step that made it. So a branch re-enters the pipeline's loop from step 0 and, for the steps it
shares with its parent, returns the recorded output instead of calling the UNet: the scheduler and
generator state come back exactly, whatever the scheduler, at the cost of its arithmetic alone.
"""

from __future__ import annotations

import threading
from typing import Any

import diffusers
import torch

from ..families.wrap import swap_forward


class OutputStore:
    """The UNet outputs of a run's first steps, within a byte budget; keeping stops (rather than
    evicting) once the budget is used, so a run can always go back as far as it kept."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.full = False
        self._outputs: list[torch.Tensor] = []
        self._lock = threading.Lock()

    def add(self, output: torch.Tensor, copy: bool = True) -> None:
        """Keep ``output``; ``copy=False`` for a tensor nobody changes (a parent's, replayed)."""
        size = output.numel() * output.element_size()
        with self._lock:
            if self.full or self.used + size > self.budget:
                self.full = True
                return
            self._outputs.append(output.detach().clone() if copy else output)
            self.used += size

    def replace(self, step: int, output: torch.Tensor) -> None:
        """Keep ``output`` (nobody changes it) as step ``step``'s, where that step was kept."""
        with self._lock:
            if step < len(self._outputs):
                self._outputs[step] = output

    def first(self, steps: int) -> list[torch.Tensor]:
        with self._lock:
            return self._outputs[:steps]

    def __len__(self) -> int:
        with self._lock:
            return len(self._outputs)


class UnetTap:
    """Wraps the denoiser's ``forward`` (``Family.denoiser``: a UNet, a transformer) for one
    pipeline call: the calls of the first ``len(replay)`` steps return those outputs without
    running it; later steps run it. Every step's first output goes to ``store``, the replayed ones
    too, so the store holds the run's steps from its first, whatever it shares with a parent.

    ``calls_per_step``: 2 where the pipeline calls the denoiser twice a step and both calls give
    the step's output (a family that combines guidance in the denoiser itself); 0 where the number
    of calls changes from step to step (a modular pipeline's guider asks for one to three
    predictions a step): every call's output is kept, stacked, once the family's step hook says the
    step ended (``end_step``), and replayed call by call, so a stateful guider (APG's momentum)
    sees a branch's shared steps exactly as they ran. The instance's own ``forward`` (accelerate's
    offload hooks put one there) is kept and put back.
    """

    def __init__(
        self, denoiser: Any, store: OutputStore | None, replay: list[torch.Tensor], calls_per_step: int = 1
    ) -> None:
        self.denoiser, self.store, self.replay = denoiser, store, replay
        self.per_step = calls_per_step
        self.calls = 0
        self.step = 0
        self._made: list[torch.Tensor] = []
        self.last: torch.Tensor | None = None
        """The latest step's output (its first call's; all calls stacked where they vary), kept or not."""

    def __enter__(self) -> UnetTap:
        original = self.denoiser.forward

        def forward(*args: Any, return_dict: bool = True, **kwargs: Any) -> Any:
            if not self.per_step:
                return self._each_call(original, args, return_dict, kwargs)
            (step, call), self.calls = divmod(self.calls, self.per_step), self.calls + 1
            if step < len(self.replay):
                sample = self.replay[step]
                if call == 0:
                    self.last = sample
                    if self.store is not None:  # a branch of this branch shares these steps too
                        self.store.add(sample, copy=False)
                return (sample,) if not return_dict else self._wrap(sample)
            out = original(*args, return_dict=return_dict, **kwargs)
            if call == 0:
                self.last = out[0] if not return_dict else out.sample
                if self.store is not None:
                    self.store.add(self.last)
            return out

        self._undo = swap_forward(self.denoiser, forward)
        return self

    def _each_call(self, original: Any, args: tuple, return_dict: bool, kwargs: dict[str, Any]) -> Any:
        """A call of a step whose calls are counted by ``end_step``."""
        call, self.calls = self.calls, self.calls + 1
        if self.step < len(self.replay):
            sample = self.replay[self.step][call]
        else:
            out = original(*args, return_dict=return_dict, **kwargs)
            sample = out[0] if not return_dict else out.sample
            self._made.append(sample)
            return out
        return (sample,) if not return_dict else self._wrap(sample)

    def end_step(self) -> None:
        """The step's calls are over: keep them (``calls_per_step=0``)."""
        replayed = self.step < len(self.replay)
        self.last = self.replay[self.step] if replayed else torch.stack(self._made)
        if self.store is not None:
            self.store.add(self.last, copy=False)
        self.step, self.calls, self._made = self.step + 1, 0, []

    def redo(self, step: int, calls: list[torch.Tensor]) -> None:
        """Step ``step``'s calls were made again before its scheduler step (a held step applied at
        another value of a guidance the model takes as an input): keep these outputs instead, as
        this tap keeps a step's (its first call's; all stacked where they vary)."""
        if not self.per_step and step == self.step:  # the step's calls not yet ended: end_step keeps these
            self._made = list(calls)
            return
        self.last = calls[0] if self.per_step else torch.stack(calls)
        if self.store is not None:
            self.store.replace(step, self.last)

    def _wrap(self, sample: torch.Tensor) -> Any:
        from diffusers.models.modeling_outputs import Transformer2DModelOutput
        from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

        unet = isinstance(self.denoiser, diffusers.UNet2DConditionModel)
        return (UNet2DConditionOutput if unet else Transformer2DModelOutput)(sample=sample)

    def __exit__(self, *exc: object) -> None:
        self._undo()
