"""The handle of one generation: its parameters, its steps as they arrive, its outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

from ..preview import Frame
from . import validate
from .controls import Controls
from .events import RunStatus, StatusEvent, StepEvent
from .loop import LoopHost
from .loop_condition import LoopCondition
from .plan import RunPlan
from .run_lens import RunLens
from .run_seen import RunSeen


class Run(RunSeen):
    """Returned at once by ``Runner.start``; filled in by the background thread.

    The controls (``pause``, ``resume``, ``stop``, ``set_guidance``: ``run_driven.py``) may be
    called from any thread and take effect at the next step boundary; the lens is ``run_seen.py``.
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
