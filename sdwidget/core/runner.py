"""Runner: one diffusers pipeline, one generation at a time; here, the runs it starts (fresh, branched,
replayed). What it holds and launches: ``runner_launch.py``; the current run's controls: ``runner_steers.py``."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from types import EllipsisType
from typing import Any

from diffusers.callbacks import PipelineCallback

from . import guider_swap, interval_runs
from . import interval as intervals
from .branch import branch_kwargs
from .plan import PromptChange
from .prepare import prepare
from .replay import Recorded, replay_kwargs
from .run import Run
from .runner_launch import RunnerLaunch
from .schedule import Schedule


class Runner(RunnerLaunch):
    """Drives ``pipe`` step by step with a live preview, pause, stop and guidance changes.

    Developer notes: ``start`` validates everything in the caller's thread into the run's ``params`` and a
    ``RunPlan``, then hands the work to a fresh thread (or, inside ``on_kernel``, to a greenlet on the kernel's
    own thread, see ``loop.py``) and returns a ``Run``. The work encodes the prompts, wraps the scheduler to see
    x0 (``X0Tap``) and calls the pipeline with a ``StepHook``, which at each step boundary records a frame and
    reads the run's ``Controls``. Observers get every ``StepEvent`` and ``StatusEvent`` (each carrying its run)
    on the runner thread and must hand heavy work elsewhere. Controls belong to the run; the runner hands them
    on to the current one. The runner knows nothing of widgets; a widget is one observer. A guidance schedule
    (given, or a recorded run's for ``replay``) is resolved to one value per step before the thread starts and
    applied by the hook exactly where a hand change would be, so a replay repeats the recorded arithmetic.
    """

    def start(
        self,
        prompt: str,
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 7.5,
        seed: int | Sequence[int] | None = None,
        height: int | None = None,
        width: int | None = None,
        callbacks: Sequence[PipelineCallback] = (),
        *,
        guidance_schedule: Schedule | None = None,
        guidance_interval: tuple[int, int] | None = None,
        knob_schedules: Mapping[str, Schedule] | None = None,
        prompt_schedule: Sequence[PromptChange | Mapping[str, Any]] = (),
        keep_latents: bool = False,
        stop_after: int | None = None,
        pause_at: Iterable[int] = (),
        pace: float | None | EllipsisType = ...,
        **pipe_kwargs: Any,
    ) -> Run:
        """Start a run in the background and return its handle at once.

        ``guidance_schedule``: the guidance of every step, as a list or a function of the step
        (0-based); its first value replaces ``guidance_scale``. A hand change during the run takes
        over from it. ``guidance_interval``: ``(first, end)``, guidance only at the 0-based steps
        ``first`` to ``end - 1`` and off elsewhere (``core/interval.py``); ``set_guidance_interval``
        moves it live. ``knob_schedules``: the same for the knobs after the guidance, by name
        (``{"guidance_rescale": [...]}``; see ``knobs``); a knob's first value replaces the pipeline
        argument of its name. ``prompt_schedule``: prompt changes at given steps (``PromptChange`` or
        ``{"step", "prompt", "negative_prompt"}``), as ``set_prompt`` makes them by hand.
        ``keep_latents``: keep each step's latents for ``Run.decode_step``. ``stop_after``: stop
        once that many steps have run. ``pause_at``: hold once each of these step counts is
        reached (1-based). ``pace``: steps per second (default: the runner's ``pace``). ``seed``: one
        seed, or a list with one per image of a batch (prompts × ``num_images_per_prompt``), each
        image's noise from its own generator; a batch's image is not bit-equal to its seed run alone
        (the batched model calls sum in another order), but a replay of the same batch is.
        """
        if guidance_interval is not None and not isinstance(guidance_interval, intervals.Kept):
            guidance_interval = intervals.check(guidance_interval)
            if intervals.on_guider(self.family):  # the guider's own start and stop, as pipeline arguments
                steps = num_inference_steps
                pipe_kwargs = intervals.guider_kwargs(guidance_interval, steps, pipe_kwargs, knob_schedules)
        params, plan = prepare(
            self.family, self.budgets, prompt, negative_prompt, num_inference_steps, guidance_scale, seed, height,
            width, callbacks, guidance_schedule=guidance_schedule, knob_schedules=knob_schedules,
            prompt_schedule=prompt_schedule,
            keep_latents=keep_latents, stop_after=stop_after, pause_at=pause_at,
            pace=self.pace if pace is ... else pace, pipe_kwargs=pipe_kwargs,
        )  # fmt: skip
        return self._launch(*interval_runs.bind(self.family, params, plan, guidance_interval, None))

    def branch(self, run: Run, step: int, **changes: Any) -> Run:
        """Continue ``run`` from the end of its step ``step`` (1-based; 0 starts afresh) with
        ``changes`` from step ``step + 1``: ``guidance_scale`` or ``guidance_schedule`` (a list
        for the remaining steps or a function of the 0-based step), a later knob by name or
        ``knob_schedules`` (the same, per knob), ``prompt`` and
        ``negative_prompt``, ``guidance_interval``, ``pace``, ``pause_at``, ``keep_latents``, ``stop_after``. The
        shared steps are not computed again (their UNet outputs are replayed), and the result is
        exactly the run that a fresh start with the combined guidance, knobs and prompts would
        give. A paused ``run`` is stopped first. Unchanged knobs stay at their values of step ``step``,
        the guidance interval too; in it, the guidance asked for at ``step`` carries on."""
        with self._lock:
            going = self.run is not None and not self.run.done
        if going and self.run is run and run.controls.paused:
            run.stop()
            run.wait()
        changes, interval, base = interval_runs.branched(self.family, run, step, changes, self._held.get(run))
        kwargs, shared = branch_kwargs(run, step, {"pace": self.pace, **changes}, self.budgets.outputs)
        params, plan = prepare(
            self.family, self.budgets, **kwargs, callbacks=run.plan.callbacks, pipe_kwargs=dict(run.plan.pipe_kwargs)
        )
        params.update(parent=run.id, branch_step=len(shared))
        plan = dataclasses.replace(plan, shared=shared, shared_frames=run.frames[: len(shared)])
        return self._launch(*interval_runs.bind(self.family, params, plan, interval, base))

    def replay(self, source: Recorded, **overrides: Any) -> Run:
        """Run ``source`` again with its recorded guidance applied step by step (same seed and
        prompt unless overridden; ``start`` arguments override, ``guidance_schedule`` included).
        ``source`` is a ``Run`` or anything recorded like one, such as a loaded ``Gallery``. Its
        guidance interval is recorded again, where the steps run are the same; one given is applied
        over the replayed curve. A run recorded with another guider (a modular pipeline's) swaps the
        pipeline's back to it, with a warning saying so, where it can be built again as recorded."""
        guider = guider_swap.recorded(self.family, source.params)
        if guider is not None:  # before the knobs are read: the recorded curves are that guider's
            self.set_guider(guider)
            warnings.warn(
                f"the pipeline's guider is now {type(guider).__name__}, as the replayed run was recorded "
                "(runner.set_guider swaps it again)",
                stacklevel=2,
            )
        kwargs = replay_kwargs(source, self.family, overrides)
        recorded, steps = source.params.get("guidance_interval"), source.params.get("steps_run")
        # A curve stretched to other steps keeps to no interval.
        if (
            recorded
            and not {"guidance_interval", "guidance_schedule"} & set(overrides)
            and len(kwargs["guidance_schedule"]) == steps
        ):
            kwargs["guidance_interval"] = intervals.Kept(*recorded)
        return self.start(**kwargs)

    def generate(self, prompt: str, **kwargs: Any) -> Run:
        """``start``, in the calling thread, and return the ended run; the image is ``run.image``.

        The calling thread (a kernel's main thread, usually) already owns torch's CPU thread pool,
        so the run goes at the bare pipeline's speed; a team started by another thread wakes
        slowly (pytorch/pytorch#37259). Observers, pause, stop and guidance from other threads
        work as for ``start``."""
        with self._launcher.inline():
            return self.start(prompt, **kwargs)
