"""The model's estimate of the finished latents (x0) at each step, for previews and stopping.

Step callbacks only see the noisy latents x_t. Euler, DDIM, LMS... return x0 from
``scheduler.step`` as ``pred_original_sample``; for the others (DPM++, UniPC, flow matching) it is
computed from the model output and the noise schedule before the step advances.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


def estimate_x0(scheduler, model_output: torch.Tensor, timestep, sample: torch.Tensor, index):
    """x0 from a noise/velocity/sample prediction, or ``None`` for a schedule we cannot read.

    ``index`` is the scheduler's step index before the step advanced it.
    """
    sigmas = getattr(scheduler, "sigmas", None)
    if "FlowMatch" in type(scheduler).__name__ and sigmas is not None:
        sigma = sigmas[index or 0].to(sample.device, sample.dtype)
        return sample - sigma * model_output
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return None
    alpha = alphas[int(timestep)].to(sample.device, sample.dtype)
    kind = getattr(scheduler.config, "prediction_type", "epsilon")
    if kind == "epsilon":
        return (sample - (1 - alpha).sqrt() * model_output) / alpha.sqrt()
    if kind == "v_prediction":
        return alpha.sqrt() * sample - (1 - alpha).sqrt() * model_output
    if kind == "sample":
        return model_output
    return None


@dataclass(frozen=True)
class StepInput:
    """What one ``scheduler.step`` call was given besides the model output: enough to call it
    again on a copy of the scheduler (a guidance lens). ``host``: the timestep as a number where
    it can be read without a host sync (else the tensor)."""

    sample: torch.Tensor
    timestep: Any
    host: Any
    index: int | None
    args: tuple
    kwargs: dict[str, Any]


Before = Callable[[StepInput, torch.Tensor], torch.Tensor]
"""Called with each step's input and model output before the scheduler steps; returns the model
output to step with (a held step's lens applied recombines it)."""


def x0_of(scheduler: Any, out: Any, model_output: torch.Tensor, given: StepInput) -> torch.Tensor | None:
    """The step's x0: the scheduler's own ``pred_original_sample``, else computed from the schedule."""
    x0 = getattr(out, "pred_original_sample", None)
    return x0 if x0 is not None else estimate_x0(scheduler, model_output, given.host, given.sample, given.index)


class X0Tap:
    """Wraps ``scheduler.step`` while a run is in progress and keeps the last step's x0.

    The wrapper carries the original signature (``functools.wraps``) because pipelines inspect
    it to decide whether to pass ``eta`` and ``generator``. ``before``: see ``Before``.
    """

    def __init__(self, scheduler, before: Before | None = None) -> None:
        self.scheduler, self.before = scheduler, before
        self.x0: torch.Tensor | None = None
        self.timestep: float | None = None
        """The last step's timestep read from the host copy (``None`` where the scheduler keeps no step index)."""
        self._timesteps: list[float] | None = None

    def host_timesteps(self) -> list[float]:
        """The scheduler's timesteps on the host, copied once per run: reading the value of a GPU
        tensor waits for the device's queued work, a host sync every step."""
        if self._timesteps is None:
            self._timesteps = self.scheduler.timesteps.tolist()
        return self._timesteps

    def _host(self, timestep, index):
        """``timestep`` as a number without a host sync, read from the host copy at the step index."""
        if not isinstance(timestep, torch.Tensor) or timestep.device.type == "cpu" or index is None:
            return timestep
        return self.host_timesteps()[index]

    def __enter__(self) -> X0Tap:
        original = self.scheduler.step

        @functools.wraps(original)
        def step(model_output, timestep, sample, *args, return_dict: bool = True, **kwargs):
            index = getattr(self.scheduler, "step_index", None)
            host = self._host(timestep, index)
            given = StepInput(sample, timestep, host, index, args, kwargs)
            if self.before is not None:
                model_output = self.before(given, model_output)
            out = original(model_output, timestep, sample, *args, return_dict=True, **kwargs)
            self.timestep = None if isinstance(host, torch.Tensor) and host.device.type != "cpu" else float(host)
            self.x0 = x0_of(self.scheduler, out, model_output, given)
            return out if return_dict else out.to_tuple()

        self.scheduler.step = step
        return self

    def __exit__(self, *exc) -> None:
        del self.scheduler.step
