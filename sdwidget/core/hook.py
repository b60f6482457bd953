"""The step callback: record the step, then honour pace, holds, stop, prompt and guidance changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from diffusers.callbacks import PipelineCallback

from ..families import Switch
from ..preview import Preview
from .controls import PromptEdit
from .events import RunStatus, StepEvent
from .finite import FiniteCheck
from .next_step import NextStep
from .peek import PeekHold
from .plan import RunPlan
from .run import Run
from .x0 import X0Tap


class StepHook(PipelineCallback):
    """A ``PipelineCallback``, so users can chain it with diffusers' own callbacks through
    ``MultiPipelineCallbacks``; it must come first there to read each step as it ran.

    Work per step: the latents shown kept (``Preview.step_frame``: the x0 estimate as it is, the
    loop's latents as a copy; on the CPU the frame is drawn by its first reader; on a GPU its
    projection and copy to the host are queued), a finiteness check, the event, the pace and
    holds, then what the next step takes (``NextStep``). Drawing, encoding and sending are off
    this path. A branch's first ``len(plan.shared)`` steps replay its parent: they are not paced,
    held or steered by hand (a hand change waits for the first new step), so they come out as the
    parent's did.
    """

    def __init__(
        self, run: Run, plan: RunPlan, cfg: Switch, preview: Preview, tap: X0Tap, show_x0: bool,
        prompts: dict[int, PromptEdit], view: Callable[[torch.Tensor], torch.Tensor] = lambda latents: latents,
        dropped: tuple[str, ...] = (), peek: PeekHold | None = None,
    ) -> None:  # fmt: skip
        """``cfg``: the family's switch, which puts a knob value or a prompt into the loop;
        ``prompts``: the plan's prompt changes, encoded, by the first step they condition; ``view``:
        the loop's latents as an image (``Family.image_view``); ``dropped``: the callback tensors
        the loop never takes back (``Family.dropped``), written into the loop's own instead; ``peek``:
        where a held step may be computed up to its scheduler step (``peek.py``)."""
        super().__init__()
        self.view, self.dropped = view, dropped
        # Counted before the run (params.steps_run); a loop's num_timesteps may miss a cut of its schedule.
        self.total: int = run.params["steps_run"]
        self.run, self.controls, self.cfg = run, run.controls, cfg
        self.preview, self.tap, self.show_x0 = preview, tap, show_x0
        self.keep, self.stop_after = plan.keep, plan.stop_after
        self.shared, self.shared_frames = len(plan.shared), plan.shared_frames
        self.next = NextStep(run, plan, cfg, prompts, peek)
        self.knob_names = self.next.knob_names
        self._tensor_inputs = ["latents", *cfg.names]
        self._final: torch.Tensor | None = None  # the loop's latents after the last step so far
        self.finite = FiniteCheck()
        self.proven = False  # whether the preview has drawn one of this run's frames
        self.started = self.last = time.perf_counter()

    @property
    def final_latents(self) -> torch.Tensor | None:
        """The run's last latents as an image (``view``), read once it has ended: viewed then, not
        at every step (unpacking a flow family's latents copies them: 0.3 ms a step at 1024² on this CPU)."""
        return None if self._final is None else self.view(self._final)

    @property
    def tensor_inputs(self) -> list[str]:
        return self._tensor_inputs

    def callback_fn(self, pipe: Any, step_index: int, timestep: Any, callback_kwargs: dict) -> dict:
        now = time.perf_counter()
        # The loop's own tensors where it never takes ours back (Family.dropped).
        given = {name: callback_kwargs[name] for name in self.dropped if name in callback_kwargs}
        latents, x0 = callback_kwargs["latents"], self.tap.x0
        total, done = self.total, step_index + 1
        estimate = x0 if self.show_x0 else None  # the scheduler's x0, where the preview shows it
        shown = latents if estimate is None else estimate  # as the loop holds it: ``view`` makes it an image
        shared = step_index < len(self.shared_frames)
        # Whether this step's frame is the run's last: a preview that skips steps shows it anyway.
        last = done >= total or self.controls.stopping or (self.stop_after is not None and done >= self.stop_after)
        if shared:
            frame = self.shared_frames[step_index]
        elif self.proven:
            # The scheduler makes x0 anew each step and nothing writes into it after: no copy, unless
            # it is the loop's next latents themselves (a last step returning its estimate).
            fresh = estimate is not None and estimate.data_ptr() != latents.data_ptr()
            frame = self.preview.step_frame(shown, last=last, fresh=fresh, view=self.view)
        else:  # drawn at once: a preview that cannot draw these latents fails the run's first step
            frame, self.proven = self.preview.frame(self.view(shown), last=last), True
        knobs = {name: self.cfg.value(pipe, name) for name in self.knob_names} if self.knob_names else {}
        self.run.emit(
            StepEvent(
                run=self.run, step=step_index, total=total, timestep=self._timestep(pipe, step_index, timestep),
                guidance=float(pipe.guidance_scale), cfg=self.cfg.active(pipe), elapsed=now - self.started,
                duration=now - self.last, frame=frame, knobs=knobs,
            )
        )  # fmt: skip
        if not shared:  # the parent checked its own steps
            self.finite.check(step_index, total, latents)  # the frame is recorded first: it shows the fault
        if self.keep is not None:
            self.keep.add(step_index, self.view(shown))
        self._final = latents
        if self.stop_after is not None and done >= self.stop_after:
            self.controls.stop()
        last_step, by_hand = done >= total, done >= self.shared
        if by_hand and not last_step:
            self.controls.wait_for_pace(self.last)
        if by_hand and self.controls.hold(done):
            self.run.emit(RunStatus.PAUSED)
            # A peek goes on into the next step still held: the peek emits RUNNING when it ends.
            if self.controls.wait_until_resumed() and not self.controls.stopping:
                self.run.emit(RunStatus.RUNNING)
        if self.controls.stopping and not last_step:
            pipe._interrupt = True
            if x0 is not None:
                # Decoding the clean estimate rather than x_t keeps a usable partial image.
                # A copy: the frame keeps x0 itself, and the loop (or a callback after this one) owns its latents.
                callback_kwargs["latents"], self._final = x0.clone(), x0
        # An edit taken once the last step ran would condition no step.
        prompt = not (last_step or self.controls.stopping)
        self.next.take(pipe, step_index, by_hand, callback_kwargs, latents.shape[0], prompt)
        for name, tensor in given.items():
            if callback_kwargs[name] is not tensor:  # switched or swapped: the loop's tensor becomes ours
                tensor.set_(callback_kwargs[name])
        self.last = time.perf_counter()
        return callback_kwargs

    def _timestep(self, pipe: Any, step_index: int, timestep: Any) -> float:
        """The step's timestep as a number. On a GPU ``float(timestep)`` would wait for the step's
        work to finish, a host sync every step; the tap read it from its host copy of the schedule
        at the scheduler's step index. Schedulers with no step index (DDIM) are placed by the loop
        running over the schedule's last ``num_timesteps`` entries."""
        if self.tap.timestep is not None:  # the number the scheduler's step was given, read already
            return self.tap.timestep
        if not isinstance(timestep, torch.Tensor) or timestep.device.type == "cpu":
            return float(timestep)
        timesteps = self.tap.host_timesteps()
        return float(timesteps[len(timesteps) - pipe.num_timesteps + step_index])
