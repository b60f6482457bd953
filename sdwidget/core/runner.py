"""Runner: one diffusers pipeline, one generation at a time, in a background thread or taking
turns with the kernel's event loop."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from types import EllipsisType
from typing import Any, Literal

from diffusers.callbacks import PipelineCallback

from ..preview import Preview, as_preview, auto_preview
from . import guider_swap, interval_runs, knobs, validate
from . import interval as intervals
from .branch import branch_kwargs
from .controls import PromptEdit
from .latents import decode_image
from .launch import Launcher
from .plan import PromptChange, RunPlan
from .prepare import Budgets, prepare
from .replay import Recorded, replay_kwargs
from .run import Run
from .schedule import Schedule
from .work import execute


class Runner:
    """Drives ``pipe`` step by step with a live preview, pause, stop and guidance changes.

    Developer notes: ``start`` validates everything in the caller's thread into the run's
    ``params`` and a ``RunPlan``, then hands the work to a fresh thread (or, inside ``on_kernel``,
    to a greenlet on the kernel's own thread, see ``loop.py``) and returns a ``Run``. The work
    encodes the prompts, wraps the scheduler to see x0 (``X0Tap``) and calls the
    pipeline with a ``StepHook``, which at each step boundary records a frame and reads the run's
    ``Controls``. Observers get every ``StepEvent`` and ``StatusEvent`` (each carrying its run)
    on the runner thread and must hand heavy work elsewhere. Controls belong to the run; the
    runner hands them on to the current one. The runner knows nothing of widgets; a widget is
    one observer. A guidance schedule (given, or a recorded run's for ``replay``) is resolved to
    one value per step before the thread starts and applied by the hook exactly where a hand
    change would be, so a replay repeats the recorded arithmetic.
    """

    def __init__(
        self,
        pipe: Any,
        *,
        preview: Preview | Any = None,
        show: Literal["x0", "latents"] = "x0",
        thumbnail_size: int = 128,
        history: int = 16,
        latent_budget: int = 512 << 20,
        branch_budget: int = 256 << 20,
        cpu_threads: int | None = None,
    ) -> None:
        """``preview``: how latents become thumbnails (default ``auto_preview(pipe, thumbnail_size)``;
        a given ``Preview`` keeps its own size; a diffusers ``AutoencoderTiny`` (TAESD family) decodes
        x0 on the device at ``thumbnail_size``); ``show``: preview the model's estimate of the finished
        image (``"x0"``) or the noisy latents as they are (``"latents"``); ``history``: how many
        recent runs ``history`` keeps; ``latent_budget``: bytes of per-step latents each run
        started with ``keep_latents=True`` may keep; ``branch_budget``: bytes of UNet outputs each
        run keeps so it can be branched from any step it kept; ``cpu_threads``: torch's CPU threads in a
        run's thread (default: 1 for small models on the CPU, where it is fastest, else torch's)."""
        self.family = validate.pipeline(pipe)
        """The pipeline's model family (``sdwidget.families``): what the engine asks of its loop."""
        if show not in ("x0", "latents"):
            raise ValueError(f"show must be 'x0' or 'latents', got {show!r:.40}")
        self.pipe = pipe
        self.show: Literal["x0", "latents"] = show
        """What the preview shows: the x0 estimate or the noisy latents."""
        cpu_threads = None if cpu_threads is None else validate.integer("cpu_threads", cpu_threads, 1, 1024)
        thumbnail_size = validate.integer("thumbnail_size", thumbnail_size, 8, 1024)
        self.preview: Preview = (
            as_preview(preview, thumbnail_size) if preview is not None else auto_preview(pipe, thumbnail_size)
        )
        """Turns each step's latents into its thumbnail."""
        self._observers: list[Callable[[Any], None]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.run: Run | None = None
        """The current or most recent run."""
        self.history: deque[Run] = deque(maxlen=validate.integer("history", history, 1, 10_000))
        """Recent runs, oldest first; the oldest is dropped when it is full."""
        self.budgets = Budgets(
            validate.integer("latent_budget", latent_budget, 0, 1 << 40),
            validate.integer("branch_budget", branch_budget, 0, 1 << 40),
        )
        """Bytes one run may keep: latents (``keep_latents=True``) and UNet outputs (branching)."""
        self.pace: float | None = None
        """Steps per second for new runs (``set_pace``); ``None`` is full speed."""
        self._launcher = Launcher(pipe, cpu_threads)
        self.observer_error: str | None = None
        """The traceback of the last exception an observer raised (observers cannot stop a run)."""
        self._held: weakref.WeakKeyDictionary[Run, intervals.Held] = weakref.WeakKeyDictionary()

    @property
    def knobs(self) -> list[dict[str, Any]]:
        """What a person steers on this pipeline, as plain values (``sdwidget.families.Knob``)."""
        return [dataclasses.asdict(knob) for knob in self.family.knobs()]

    def observe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``fn(event)`` for every step and status event; returns a function that undoes it."""
        self._observers.append(fn)
        return lambda: self._observers.remove(fn)

    def _notify(self, event: Any) -> None:
        for fn in list(self._observers):
            try:
                fn(event)
            except BaseException:  # noqa: BLE001 - an observer's bug must not kill the run; it stays inspectable
                self.observer_error = traceback.format_exc()

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

    def on_kernel(self) -> contextlib.AbstractContextManager[None]:
        """Runs started inside this block take turns with the calling thread's event loop, when
        that is the main thread with an asyncio loop running (a Jupyter kernel's): the pipeline
        runs on the thread that owns torch's CPU pool, at the bare pipeline's speed, and hands the
        thread back to the kernel at every step boundary (messages are handled, cells can run).
        Elsewhere they get a thread as usual. The widget starts its runs this way."""
        return self._launcher.on_kernel()

    def _launch(self, params: dict[str, Any], plan: RunPlan, held: intervals.Held | None = None) -> Run:
        host = self._launcher.host()
        with self._lock:
            if self.run is not None and not self.run.done:
                raise RuntimeError(f"{self.run!r} is still going: stop() it or wait() for it first")
            run = Run(next(self._ids), params, self._notify, plan, partial(decode_image, self.pipe), host)
            if held is not None:  # its changes planned too: a hand change ends the run's schedule, not the interval
                self._held[run] = held
                held.plan(run, len(plan.shared))
            self._launcher.claim(run)
            work = partial(execute, self.family, run, plan, self.preview, self.show == "x0")
            self._launcher.prepare(run, work)
            self.run = run
            self.history.append(run)
        self._launcher.go(run, work, host)
        return run

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

    def pause(self) -> None:
        """Pause the current run at its next step boundary."""
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()

    def stop(self) -> None:
        """Stop the current run at its next step boundary; a stopped run keeps its partial image."""
        if self.run is not None:
            self.run.stop()

    def step_once(self) -> None:
        """Paused: run exactly one more step and hold again."""
        if self.run is not None:
            self.run.step_once()

    def set_pace(self, steps_per_second: Any) -> float | None:
        """At most this many steps a second for the current run and the next ones (``None``: full
        speed). The wait sleeps at the step boundary; pause and stop cut it short; results are the same."""
        self.pace = None if steps_per_second is None else validate.pace(steps_per_second)
        if self.run is not None and not self.run.done:
            self.run.set_pace(self.pace)
        return self.pace

    def set_prompt(self, prompt: Any, negative_prompt: Any = None) -> None:
        """Condition the current run on ``prompt`` (and ``negative_prompt``, if given) from its
        next step: one string for every image or, for a run started with a list of prompts, a
        list with one per prompt (each prompt's images take its own). Encoded here, on the
        caller's thread: the step boundary only swaps tensors."""
        run = self.run
        if run is None or run.done:  # a bad value is named first, even with no run
            validate.prompts("prompt", prompt)
            validate.prompts("negative_prompt", negative_prompt, optional=True)
            raise RuntimeError("no run is going: give the prompt to start() instead")
        started = run.params["prompt"]
        rows = len(started) if isinstance(started, list) else None
        prompt, negative_prompt = validate.prompt_edit(prompt, negative_prompt, rows)
        embeddings = self.family.encode(prompt, negative_prompt, run.plan.pipe_kwargs)
        run.controls.set_prompt(PromptEdit(prompt, negative_prompt, embeddings))

    def set_guidance(self, value: Any) -> float:
        """Apply ``value`` to the current run from its next step (validated even with no run); in
        a run with a guidance interval, from its next step in the interval (off outside it)."""
        run = self.run
        if run is None or run.done:
            return validate.guidance(value)
        held = self._held.get(run)
        return run.set_guidance(value) if held is None else held.set_guidance(run, value)

    def set_guidance_interval(self, first: Any, end: Any) -> tuple[int, int]:
        """Guidance only at the 0-based steps ``first`` to ``end - 1`` of the current run, off
        elsewhere, from its next step on (``start``'s ``guidance_interval``; ``0, steps``: every
        step). The guidance asked for comes back where the interval grows. Checked even with no run."""
        interval, run, guider = intervals.check((first, end)), self.run, intervals.on_guider(self.family)
        off = None if guider else intervals.off_value(self.family)
        if run is None or run.done:
            raise RuntimeError("no run is going: give guidance_interval to start() instead")
        steps = run.params["steps_run"]
        interval = intervals.check(interval, steps)
        if off is None:
            for name, step in zip(intervals.GUIDER, interval, strict=True):
                run.set_knob(name, intervals.fraction(step, steps))
        else:
            held = self._held.setdefault(run, intervals.Held.of(run, interval, off))
            held.interval = interval
            held.live(run, 2)
        run.params["guidance_interval"] = list(interval)
        return interval

    def set_guider(self, guider: Any, **config: Any) -> list[dict[str, Any]]:
        """Swap the pipeline's guider for the next runs (a modular pipeline's ``guider``): a
        ``diffusers.guiders`` guider, or a class name (``guider_swap.choices``) built with ``config``.
        Returns the new ``knobs``. Refused while a run goes, with the reason (``core/guider_swap.py``)."""
        with self._lock:  # no run starts between the check and the swap
            guider_swap.swap(self.family, self.run, guider, config)
        return self.knobs

    def set_knob(self, name: Any, value: Any) -> float:
        """Set a knob after the guidance (``knobs[1:]``, by name) for the current run from its next
        step; checked even with no run. ``set_guidance`` sets the first knob."""
        run = self.run
        if run is None or run.done:
            return knobs.value(knobs.named(self.family.knobs()[1:], name), value)
        return run.set_knob(name, value)
