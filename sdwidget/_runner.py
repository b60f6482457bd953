"""Runner: one diffusers pipeline, one generation at a time, in a background thread."""

from __future__ import annotations

import itertools
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from diffusers.callbacks import PipelineCallback

from . import _validate
from ._calibrate import preview_for, refined
from ._gallery import Gallery
from ._latents import LatentStore, decode_image
from ._params import check_extra, run_params
from ._replay import replay_kwargs
from ._run import Run
from ._schedule import Schedule, resolve
from ._threads import run_threads, use_threads
from ._work import execute


class Runner:
    """Drives ``pipe`` step by step with a live preview, pause, stop and guidance changes.

    Developer notes: ``start`` validates everything in the caller's thread, then hands the work
    to a fresh thread and returns a ``Run``. That thread encodes the prompts, wraps the scheduler
    to see x0 (``X0Tap``) and calls the pipeline with a ``StepHook``, which at each step boundary
    records a frame and reads the run's ``Controls``. Observers get every ``StepEvent`` and
    ``StatusEvent`` on the runner thread and must hand heavy work elsewhere. The runner knows
    nothing of widgets; a widget is one observer. A guidance schedule (given, or a recorded run's
    for ``replay``) is resolved to one value per step before the thread starts and applied by the
    hook exactly where a hand change would be, so a replay repeats the recorded arithmetic.
    """

    def __init__(
        self,
        pipe,
        *,
        preview: str = "x0",
        thumbnail_size: int = 128,
        history: int = 16,
        latent_budget: int = 512 << 20,
        cpu_threads: int | None = None,
    ) -> None:
        """``history``: how many recent runs ``history`` keeps; ``latent_budget``: bytes of
        per-step latents each run started with ``keep_latents=True`` may keep; ``cpu_threads``:
        torch's CPU threads in a run's thread (default: 1 for small models on the CPU, where it
        is fastest, else torch's setting)."""
        _validate.pipeline(pipe)
        if preview not in ("x0", "latents"):
            raise ValueError(f"preview must be 'x0' or 'latents', got {preview!r}")
        self.pipe = pipe
        self.preview_mode = preview
        self._cpu_threads = None if cpu_threads is None else _validate.integer("cpu_threads", cpu_threads, 1, 1024)
        self._thumbnail_size = _validate.integer("thumbnail_size", thumbnail_size, 8, 1024)
        self._preview, self._fit = preview_for(pipe.vae, self._thumbnail_size)
        self._observers: list[Callable[[Any], None]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.run: Run | None = None
        """The current or most recent run."""
        self.history: deque[Run] = deque(maxlen=_validate.integer("history", history, 1, 10_000))
        """Recent runs, oldest first; the oldest is dropped when it is full."""
        self.latent_budget = _validate.integer("latent_budget", latent_budget, 0, 1 << 40)
        self.observer_error: str | None = None
        """The traceback of the last exception an observer raised (observers cannot stop a run)."""

    def observe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``fn(event)`` for every step and status event; returns a function that undoes it."""
        self._observers.append(fn)
        return lambda: self._observers.remove(fn)

    def _notify(self, event: Any) -> None:
        for fn in list(self._observers):
            try:
                fn(event)
            except Exception:  # an observer's bug must not kill the run; it stays inspectable
                self.observer_error = traceback.format_exc()

    def start(
        self,
        prompt: str,
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 7.5,
        seed: int | None = None,
        height: int | None = None,
        width: int | None = None,
        callbacks: Sequence[PipelineCallback] = (),
        *,
        guidance_schedule: Schedule | None = None,
        keep_latents: bool = False,
        stop_after: int | None = None,
        **pipe_kwargs: Any,
    ) -> Run:
        """Start a run in the background and return its handle at once.

        ``guidance_schedule``: the guidance of every step, as a list or a function of the step
        (0-based); its first value replaces ``guidance_scale``. A hand change during the run takes
        over from it. ``keep_latents``: keep each step's latents for ``Run.decode_step``.
        ``stop_after``: stop once that many steps have run.
        """
        schedule = (
            None if guidance_schedule is None else resolve(guidance_schedule, _validate.steps(num_inference_steps))
        )
        if schedule is not None:
            guidance_scale = schedule[0]
        params = run_params(
            self.pipe, prompt, negative_prompt, num_inference_steps, guidance_scale, seed, height, width
        )
        params["guidance_schedule"] = schedule
        if stop_after is not None:
            stop_after = _validate.integer("stop_after", stop_after, 1, params["num_inference_steps"])
        if not isinstance(keep_latents, bool):
            raise TypeError(f"keep_latents must be True or False, got {type(keep_latents).__name__}")
        check_extra(self.pipe, callbacks, pipe_kwargs)
        with self._lock:
            if self.run is not None and not self.run.done:
                raise RuntimeError(f"{self.run!r} is still going: stop() it or wait() for it first")
            keep = LatentStore(self.latent_budget) if keep_latents else None
            run = Run(next(self._ids), params, self._notify, keep, partial(decode_image, self.pipe))
            extra = (schedule, keep, stop_after)
            run._thread = threading.Thread(
                target=self._work, args=(run, list(callbacks), pipe_kwargs, extra), name=f"sdwidget-run-{run.id}",
                daemon=True,
            )  # fmt: skip
            self.run = run
            self.history.append(run)
            run._thread.start()
        return run

    def replay(self, source: Run | Gallery, **overrides: Any) -> Run:
        """Run ``source`` again with its recorded guidance applied step by step (same seed and
        prompt unless overridden; ``start`` arguments override, ``guidance_schedule`` included)."""
        return self.start(**replay_kwargs(source, self.pipe, overrides))

    def generate(self, prompt: str, **kwargs: Any) -> Run:
        """``start`` and wait for the run to end; the image is ``run.image``."""
        run = self.start(prompt, **kwargs)
        run.wait()
        return run

    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def set_guidance(self, value: Any) -> float:
        """Validate ``value`` and apply it to the current run from its next step."""
        value = _validate.guidance(value)
        if self.run is not None and not self.run.done:
            self.run.set_guidance(value)
        return value

    def _work(self, run: Run, callbacks: list[PipelineCallback], pipe_kwargs: dict[str, Any], extra: tuple) -> None:
        use_threads(run_threads(self.pipe, self._cpu_threads))
        preview, show_x0 = self._preview, self.preview_mode == "x0"
        execute(self.pipe, run, preview, show_x0, callbacks, pipe_kwargs, extra, self._refine)

    def _refine(self, run: Run) -> None:
        """Add the run's own decode to a fitted preview map (published maps stay as they are)."""
        if self._fit is not None and run.latents is not None:
            self._preview = refined(self._fit, run.latents, run.image, self._thumbnail_size)
