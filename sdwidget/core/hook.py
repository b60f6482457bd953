"""The step callback: record the step, then honour pause, stop and guidance requests."""

from __future__ import annotations

import time
from typing import Any

import torch
from diffusers.callbacks import PipelineCallback

from ..preview import Preview
from .cfg import CfgSwitch
from .events import RunStatus, StepEvent
from .finite import FiniteCheck
from .plan import RunPlan
from .run import Run
from .x0 import X0Tap


class StepHook(PipelineCallback):
    """A ``PipelineCallback``, so users can chain it with diffusers' own callbacks through
    ``MultiPipelineCallbacks``; it must come first there to read each step as it ran.

    Work per step: one projection of the first latent to a thumbnail and its copy to the host.
    Everything else (encoding, sending) is the observers' job, off this path.
    """

    def __init__(self, run: Run, plan: RunPlan, cfg: CfgSwitch, preview: Preview, tap: X0Tap, show_x0: bool) -> None:
        super().__init__()
        self.run, self.controls, self.cfg = run, run.controls, cfg
        self.preview, self.tap, self.show_x0 = preview, tap, show_x0
        self.schedule, self.keep, self.stop_after = plan.schedule, plan.keep, plan.stop_after
        self._tensor_inputs = ["latents", *cfg.names]
        self.final_latents: torch.Tensor | None = None
        self.finite = FiniteCheck()
        self.started = self.last = time.perf_counter()

    @property
    def tensor_inputs(self) -> list[str]:
        return self._tensor_inputs

    def callback_fn(self, pipe: Any, step_index: int, timestep: Any, callback_kwargs: dict) -> dict:
        now = time.perf_counter()
        latents, x0 = callback_kwargs["latents"], self.tap.x0
        total = pipe.num_timesteps
        shown = x0 if self.show_x0 and x0 is not None else latents
        self.run.emit(
            StepEvent(
                run=self.run,
                step=step_index,
                total=total,
                timestep=float(timestep),
                guidance=float(pipe.guidance_scale),
                cfg=self.cfg.active(pipe),
                elapsed=now - self.started,
                duration=now - self.last,
                frame=self.preview.frame(shown),
            )
        )
        self.finite.check(step_index, total, latents)  # the frame is recorded first: it shows the fault
        if self.keep is not None:
            self.keep.add(step_index, shown)
        self.final_latents = latents
        if self.stop_after is not None and step_index + 1 >= self.stop_after:
            self.controls.stop()
        if self.controls.paused:
            self.run.emit(RunStatus.PAUSED)
            self.controls.wait_until_resumed()
            if not self.controls.stopping:
                self.run.emit(RunStatus.RUNNING)
        last_step = step_index + 1 >= total
        if self.controls.stopping and not last_step:
            pipe._interrupt = True
            if x0 is not None:
                # Decoding the clean estimate rather than x_t keeps a usable partial image.
                callback_kwargs["latents"] = self.final_latents = x0
        guidance = self._next_guidance(pipe, step_index)
        if guidance is not None:
            self.cfg.apply(pipe, callback_kwargs, latents.shape[0], guidance)
        self.last = time.perf_counter()
        return callback_kwargs

    def _next_guidance(self, pipe: Any, step_index: int) -> float | None:
        """A hand-set value wins and ends any schedule: the user has taken over the curve."""
        asked = self.controls.take_guidance()
        if asked is not None:
            self.schedule = None
            return asked
        if self.schedule is None or step_index + 1 >= len(self.schedule):
            return None
        planned = self.schedule[step_index + 1]
        return None if planned == pipe.guidance_scale else planned
