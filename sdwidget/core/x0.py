"""The model's estimate of the finished latents (x0) at each step, for previews and stopping.

Step callbacks only see the noisy latents x_t. Euler, DDIM, LMS... return x0 from
``scheduler.step`` as ``pred_original_sample``; for the others (DPM++, UniPC, flow matching) it is
computed from the model output and the noise schedule before the step advances.
"""

from __future__ import annotations

import functools

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


class X0Tap:
    """Wraps ``scheduler.step`` while a run is in progress and keeps the last step's x0.

    The wrapper carries the original signature (``functools.wraps``) because pipelines inspect
    it to decide whether to pass ``eta`` and ``generator``.
    """

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
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
            out = original(model_output, timestep, sample, *args, return_dict=True, **kwargs)
            x0 = getattr(out, "pred_original_sample", None)
            host = self._host(timestep, index)
            self.timestep = None if isinstance(host, torch.Tensor) and host.device.type != "cpu" else float(host)
            if x0 is None:
                x0 = estimate_x0(self.scheduler, model_output, host, sample, index)
            self.x0 = x0
            return out if return_dict else out.to_tuple()

        self.scheduler.step = step
        return self

    def __exit__(self, *exc) -> None:
        del self.scheduler.step
