"""What a runner holds (pipeline, family, preview, budgets, observers, history) and how it
launches one run at a time into its home: a thread, or the kernel's loop (``launch.py``)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from ..preview import Preview, as_preview, auto_preview
from . import drivable, validate
from . import interval as intervals
from .latents import decode_image
from .launch import Launcher
from .plan import RunPlan
from .prepare import Budgets
from .run import Run
from .runner_steers import RunnerSteers
from .work import execute


class RunnerLaunch(RunnerSteers):
    """A runner's state and its one way to start a run (``_launch``); ``Runner`` plans the runs."""

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
        self.family = drivable.family(pipe)
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
