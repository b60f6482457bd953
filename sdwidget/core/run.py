"""The handle of one generation: its parameters, its steps as they arrive, its outcome."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..preview import Frame
from . import knobs, validate
from .controls import Controls
from .events import RunStatus, StatusEvent, StepEvent
from .lens import Lens
from .loop import LoopHost
from .loop_condition import LoopCondition
from .plan import RunPlan
from .run_lens import RunLens

_SLICE = 0.05
"""Seconds a cell's ``wait`` drives a kernel-hosted run between looks at whether it is paused."""


class Run:
    """Returned at once by ``Runner.start``; filled in by the background thread.

    The controls (``pause``, ``resume``, ``stop``, ``set_guidance``) may be called from any
    thread and take effect at the next step boundary; they hand on to ``controls``, their owner.
    Errors never escape the thread: a failed run keeps its exception in ``error`` and the
    formatted traceback in ``traceback``. ``Gallery.from_run(run)`` records a run and
    ``Runner.replay(run)`` runs it again.
    """

    def __init__(
        self,
        run_id: int,
        params: dict[str, Any],
        notify: Callable[[Any], None],
        plan: RunPlan | None = None,
        decode: Callable[[torch.Tensor], Any] | None = None,
        host: LoopHost | None = None,
    ) -> None:
        """``host``: the kernel loop this run takes turns with (``None``: it gets a thread)."""
        plan = plan or RunPlan()
        self.id = run_id
        self.params = params
        """What the run was started with: prompt, negative_prompt, num_inference_steps,
        guidance_scale, seed, height, width, scheduler (class name), scheduler_config, pipeline
        (class name), model (name or path, if the pipeline was loaded), guidance_schedule; for a
        branch also parent (the run id) and branch_step (steps shared with it)."""
        self.status = RunStatus.PENDING
        self.steps: list[StepEvent] = []
        """One event per finished step, frame included, in order."""
        self.image: Any = None
        """The final PIL image; for a stopped run, decoded from the last estimate of x0."""
        self.images: list[Any] = []
        """Every final PIL image, prompt by prompt, ``num_images_per_prompt`` each; ``image`` is the first."""
        self.latents: torch.Tensor | None = None
        """The latents ``image`` was decoded from."""
        self.error: BaseException | None = None
        self.traceback: str | None = None
        self.prompts: list[dict[str, Any]] = []
        """Prompt changes as applied: step (0-based, the first step conditioned on it), prompt,
        negative_prompt (``None``: unchanged)."""
        self.plan = plan
        """How the run is driven (its schedule, pipeline arguments, callbacks, stores)."""
        self.controls = Controls(plan.pause_at, plan.pace, host and LoopCondition(host))
        self._notify, self._keep, self._decode, self._outputs = notify, plan.keep, decode, plan.outputs
        self._thread: threading.Thread | None = None
        self._host = host
        self._lens: RunLens | None = None  # set once the run's thread has entered the pipeline call

    @property
    def done(self) -> bool:
        return self.status.done

    @property
    def requests(self) -> list[tuple[int, float]]:
        """Guidance asked for during the run: (steps recorded at the time, value)."""
        return self.controls.requests

    @property
    def guidance(self) -> list[float]:
        """The guidance scale each recorded step was computed with."""
        return [step.guidance for step in self.steps]

    @property
    def knob_curves(self) -> dict[str, list[float]]:
        """Each knob after the guidance (``Runner.knobs[1:]``) by name: the value each recorded
        step was computed with."""
        return {knob.name: [step.knobs[knob.name] for step in self.steps] for knob in self.plan.knobs}

    @property
    def knob_requests(self) -> list[tuple[int, str, float]]:
        """Later knobs set by hand during the run: (steps recorded at the time, name, value)."""
        return self.controls.knob_requests

    @property
    def frames(self) -> list[Frame]:
        return [step.frame for step in self.steps]

    @property
    def kept_steps(self) -> list[int]:
        """Steps whose latents were kept (``keep_latents=True``, within the runner's budget)."""
        return [] if self._keep is None else self._keep.steps

    @property
    def branchable(self) -> int:
        """How many of its steps a branch of this run can share (their UNet outputs were kept)."""
        return 0 if self._outputs is None else len(self._outputs)

    def shared_outputs(self, steps: int) -> list[torch.Tensor]:
        """The UNet outputs of the first ``steps`` steps, for a branch."""
        return [] if self._outputs is None else self._outputs.first(steps)

    def decode_step(self, step: int) -> Any:
        """The full-size PIL image of a step's x0 estimate, decoded through the VAE (in float32
        for an fp16 VAE that asks for it, as the pipelines do)."""
        if self._keep is None or self._decode is None:
            raise RuntimeError("this run kept no latents; start it with keep_latents=True")
        if not self.steps:
            raise ValueError("step: the run has recorded no steps yet, so there is none to decode")
        # Steps are 0-based: the last one recorded is len(steps) - 1. A step not kept (over the
        # budget) raises StepNotKept, a ValueError (and a KeyError, as it was).
        return self._decode(self._keep.get(validate.integer("step", step, 0, len(self.steps) - 1)))

    def lens(self, step: int, guidance: float, *, decode: bool = False, paid: bool = False) -> Lens:
        """Step ``step`` (0-based) seen at ``guidance``: the x0 estimate and frame a branch
        applying ``guidance`` at that step would show, computed from the step's kept halves with no
        model call (``lens.py``); ``decode=True`` adds the VAE's image. A held run's next step
        (``step == len(run.steps)``) is computed up to its model call first (``peek``), on a run
        with a thread of its own or waited for in a cell; Next step or resume then applies the
        value last set, as before. ``ValueError`` where no free lens exists, with the reason: a
        step run with guidance off (one half), a family combining guidance where its halves are
        not kept (a distilled guidance is a model input, not a combination), a
        two-call scheduler (Heun), a step over the branch budget. ``paid=True``: where guidance is a
        model input (``Steering.recall``) the step's model call is made again at ``guidance``, once
        per value (``paid_lens.py``); on a past step run with guidance off (``Steering.other_half``)
        its call is made again as a step under guidance makes it, once for the step, then every
        value there is free (``half_lens.py``). Without it both are refused with ``PaidOffer``; a
        value seen before comes back with no call either way. ``Lens.frame`` is the run's own
        preview of the x0, ``Lens.quick`` a picture made at once (``lens_frames.py``)."""
        self._reach(step)
        return self._lens_or_refusal().lens(step, guidance, decode, paid)

    def lens_views(self, step: int) -> dict[str, Frame | None]:
        """The unconditional, conditional and guided x0 frames of a step (``None``: not computed)."""
        self._reach(step)
        return self._lens_or_refusal().views(step)

    def guidance_effect(self, first: int = 0) -> list[float | None]:
        """Per recorded step from ``first`` on, how far its guidance moved the x0 estimate: the mean
        |x0(g) − x0(off)| over the latents (``0.0`` where guidance was off; ``None`` where no lens
        exists). ``first``: to add the steps recorded since the last call only."""
        lens = self._lens
        return [None if lens is None else lens.effect(step) for step in range(first, len(self.steps))]

    def peek(self, ready: Callable[[int], None] | None = None) -> bool:
        """Held: compute the next step's model call now, holding again before its scheduler step,
        so its lens is free; ``ready(step)`` is called (on the run's thread) once it is. ``False``
        where the run is not held or has no lens."""
        return False if self._lens is None else self._lens.peek(ready)

    def _reach(self, step: Any) -> None:
        """Where this thread can wait for the run (not its own; a kernel-hosted run from a cell),
        until it has run past ``step``, holds, or has ended: a lens asked for a step the run is
        still heading to is answered when it gets there."""
        if not isinstance(step, int) or isinstance(step, bool):
            return
        if threading.current_thread() is self._thread or (self._host is not None and self._host.inside()):
            return

        # Held anywhere counts as there: a hold before an earlier step would otherwise never end.
        while not (self.done or len(self.steps) > step or self.status is RunStatus.PAUSED):
            self.wait(_SLICE)

    def _lens_or_refusal(self) -> RunLens:
        if self._lens is None:
            raise ValueError(f"{self!r} has no guidance lens yet: it has not entered its pipeline call")
        return self._lens

    @property
    def on_kernel(self) -> bool:
        """Whether the run takes turns with the kernel's loop on its thread (``Runner.on_kernel``)
        rather than running in a thread of its own."""
        return self._host is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run's thread has ended; ``False`` if ``timeout`` passed first. A run
        hosted on the kernel's loop is driven by this wait when called on the kernel's thread;
        there, without a timeout, a paused run warns (``RuntimeWarning``) that the wait lasts
        until the cell is interrupted: nothing else on that thread could resume it."""
        if self._host is not None:
            if timeout is None and threading.current_thread() is threading.main_thread() and not self._host.inside():
                return self._drive()
            return self._host.wait(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self.done

    def _drive(self) -> bool:
        """A cell waiting for a kernel-hosted run drives it, in slices. Once the run is paused it
        says so, once: only the kernel's thread, busy in this very wait, would resume it, so the
        wait lasts until the cell is interrupted (Ctrl-C, Interrupt kernel; the run stays paused
        and resumable) or another thread resumes or stops the run."""
        assert self._host is not None
        warned = False
        while not self._host.wait(_SLICE):
            if not warned and self.controls.paused and not self.done:
                warned = True
                warnings.warn(
                    f"run {self.id} is paused and runs on the kernel's thread, which this wait holds: nothing in "
                    "this notebook can resume it until the cell is interrupted (Interrupt kernel). Call "
                    "run.resume() or run.stop() first, or wait with a timeout",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return True

    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()

    def stop(self) -> None:
        self.controls.stop()

    def step_once(self) -> None:
        self.controls.step_once()

    def set_pace(self, steps_per_second: Any) -> float | None:
        return self.controls.set_pace(steps_per_second)

    def set_guidance(self, value: Any) -> float:
        """Ask for ``value`` from the next step on; returns the validated value."""
        return self.controls.set_guidance(value)

    def set_knob(self, name: Any, value: Any) -> float:
        """Set the knob ``name`` (one after the guidance, ``Runner.knobs``) to ``value`` from the
        next step on; returns the checked value. ``set_guidance`` sets the first knob."""
        knob = knobs.named(self.plan.knobs, name)
        checked = knobs.value(knob, value)
        self.controls.set_knob(knob.name, checked)
        return checked

    def plan_guidance(self, values: Any) -> dict[int, float]:
        """Set the guidance of later steps (0-based step → value); see ``Controls.plan_guidance``."""
        return self.controls.plan_guidance(values)

    def record_prompt(self, step: int, prompt: str | list[str], negative_prompt: str | list[str] | None) -> None:
        """Step ``step`` (0-based) is the first conditioned on ``prompt``: one string for every image,
        or one per prompt of a run started with a list (runner thread only)."""
        self.prompts.append({"step": step, "prompt": prompt, "negative_prompt": negative_prompt})

    def emit(self, item: StepEvent | RunStatus) -> None:
        """Record a step or a status change and pass it to the observers (runner thread only)."""
        if isinstance(item, StepEvent):
            self.steps.append(item)
            self.controls.recorded(len(self.steps))
            self._notify(item)
            return
        self.status = item
        error = None if self.error is None else f"{type(self.error).__name__}: {self.error}"
        self._notify(StatusEvent(self, item, len(self.steps), error))

    def __repr__(self) -> str:
        total = self.params.get("num_inference_steps")
        return f"<Run {self.id} {self.status.value} {len(self.steps)}/{total} {self.params.get('prompt')!r:.60}>"
