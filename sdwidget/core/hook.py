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
from .peek import PeekHold
from .plan import RunPlan
from .run import Run
from .x0 import X0Tap


class StepHook(PipelineCallback):
    """A ``PipelineCallback``, so users can chain it with diffusers' own callbacks through
    ``MultiPipelineCallbacks``; it must come first there to read each step as it ran.

    Work per step: a copy of the latents shown (``Preview.step_frame``: on the CPU the frame is
    drawn by its first reader; on a GPU its projection and copy to the host are queued), a
    finiteness check, the event. Everything else (drawing, encoding, sending) is off this path. A branch's first
    ``len(plan.shared)`` steps replay its parent: they are not paced, held or steered by hand
    (a hand change waits for the first new step), so they come out as the parent's did.
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
        self.view, self.dropped, self.peek = view, dropped, peek
        # Counted before the run (params.steps_run); a loop's num_timesteps may miss a cut of its schedule.
        self.total: int = run.params["steps_run"]
        self.run, self.controls, self.cfg = run, run.controls, cfg
        self.preview, self.tap, self.show_x0 = preview, tap, show_x0
        self.schedule, self.keep, self.stop_after = plan.schedule, plan.keep, plan.stop_after
        self.shared, self.shared_frames, self.prompts = len(plan.shared), plan.shared_frames, prompts
        self.knob_names = [knob.name for knob in plan.knobs]
        self.knob_schedules = dict(plan.knob_schedules)
        self._tensor_inputs = ["latents", *cfg.names]
        self.final_latents: torch.Tensor | None = None
        self.finite = FiniteCheck()
        self.proven = False  # whether the preview has drawn one of this run's frames
        self.started = self.last = time.perf_counter()

    @property
    def tensor_inputs(self) -> list[str]:
        return self._tensor_inputs

    def callback_fn(self, pipe: Any, step_index: int, timestep: Any, callback_kwargs: dict) -> dict:
        now = time.perf_counter()
        # The loop's own tensors where it never takes ours back (Family.dropped).
        given = {name: callback_kwargs[name] for name in self.dropped if name in callback_kwargs}
        latents, x0 = callback_kwargs["latents"], self.tap.x0
        total, done = self.total, step_index + 1
        shown = self.view(x0 if self.show_x0 and x0 is not None else latents)
        shared = step_index < len(self.shared_frames)
        # Whether this step's frame is the run's last: a preview that skips steps shows it anyway.
        last = done >= total or self.controls.stopping or (self.stop_after is not None and done >= self.stop_after)
        if shared:
            frame = self.shared_frames[step_index]
        elif self.proven:
            frame = self.preview.step_frame(shown, last=last)
        else:  # drawn at once: a preview that cannot draw these latents fails the run's first step
            frame, self.proven = self.preview.frame(shown, last=last), True
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
            self.keep.add(step_index, shown)
        self.final_latents = self.view(latents)
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
                callback_kwargs["latents"], self.final_latents = x0, self.view(x0)
        if not (last_step or self.controls.stopping):  # an edit taken now would condition no step
            self._next_prompt(done, by_hand, callback_kwargs, latents.shape[0])
        relaid, knobs_by_hand = self._peeked_by_hand(pipe)
        guidance = self._next_guidance(pipe, step_index, by_hand)
        guidance = relaid if guidance is None else guidance
        if guidance is not None:
            self.cfg.apply(pipe, callback_kwargs, latents.shape[0], guidance)
        for name in knobs_by_hand:
            self.knob_schedules.pop(name, None)
        if self.knob_names:
            self._next_knobs(pipe, step_index, by_hand)
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

    def _peeked_by_hand(self, pipe: Any) -> tuple[float | None, set[str]]:
        """Values set by hand while the step that just ran was held after its model call: their
        schedules end, as for any hand change, and a guidance is laid out again for the next step
        (the peeked step may have crossed the off value after its batch was laid out)."""
        if self.peek is None:
            return None, set()
        guidance, knobs = self.peek.take_hand()
        if guidance:
            self.schedule = None
        return (float(pipe.guidance_scale) if guidance else None), knobs

    def _next_prompt(self, step: int, by_hand: bool, kwargs: dict, batch: int) -> None:
        """Condition step ``step`` on a planned prompt or, once steering is by hand, an edit."""
        edit = (self.controls.take_prompt() if by_hand else None) or self.prompts.get(step)
        if edit is not None:
            self.cfg.swap_prompt(kwargs, batch, edit.embeddings, edit.negative_prompt is not None)
            self.run.record_prompt(step, edit.prompt, edit.negative_prompt)

    def _next_knobs(self, pipe: Any, step_index: int, by_hand: bool) -> None:
        """Each later knob as ``_next_guidance`` does the guidance: a hand value ends its schedule."""
        asked = self.controls.take_knobs() if by_hand else {}
        for name in self.knob_names:
            if name in asked:
                self.knob_schedules.pop(name, None)
                self.cfg.set(pipe, name, asked[name])
            elif step_index + 1 < len(planned := self.knob_schedules.get(name, ())):
                self.cfg.set(pipe, name, planned[step_index + 1])

    def _next_guidance(self, pipe: Any, step_index: int, by_hand: bool) -> float | None:
        """A hand-set value wins and ends any schedule: the user has taken over the curve."""
        asked = self.controls.take_guidance(step_index + 1) if by_hand else None
        if asked is not None:
            self.schedule = None
            return asked
        if self.schedule is None or step_index + 1 >= len(self.schedule):
            return None
        planned = self.schedule[step_index + 1]
        return None if planned == pipe.guidance_scale else planned
