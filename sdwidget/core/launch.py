"""Where a run's work goes: the caller's thread, the kernel's loop, or a thread of its own."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .loop import LoopHost
from .run import Run
from .threads import run_threads, use_threads

_THREADED: weakref.WeakSet[Run] = weakref.WeakSet()
# The run each pipeline (by id) is busy with, across every Runner and widget holding it.
_BUSY: weakref.WeakValueDictionary[int, Run] = weakref.WeakValueDictionary()
_BUSY_LOCK = threading.Lock()


@atexit.register
def _stop_runs() -> None:
    """A run's thread still inside torch when the interpreter ends aborts the process ("terminate
    called without an active exception"), as a script that starts a run and never waits for it
    would: each run is stopped at its next step and its thread joined first. (Registered after
    the decoded preview's worker stop, so it runs before it: the run may still ask for frames.)"""
    runs = list(_THREADED)
    for run in runs:
        run.stop()
    for run in runs:
        if run._thread is not None:
            run._thread.join(timeout=60)


class Launcher:
    """Picks a run's home from the caller's context and starts its work there.

    ``inline()`` (``Runner.generate``): the calling thread, blocking. ``on_kernel()`` (the
    widget): a greenlet taking turns with the kernel's asyncio loop on the main thread, when
    there is one (``loop.py``). Otherwise a daemon thread. Every home runs on the same torch
    thread count (``threads.py``): the count decides the order of sums, so a run's result does
    not depend on where it ran. The caller's own count is restored after an inline run.
    """

    def __init__(self, pipe: Any, cpu_threads: int | None) -> None:
        self.pipe, self.cpu_threads = pipe, cpu_threads
        self._here = threading.local()  # per calling thread: which context manager it is inside
        # The kernel's loop, if this is made in a cell: widget messages may arrive on another thread.
        self._kernel_loop = LoopHost.main_loop()

    @contextlib.contextmanager
    def _mark(self, name: str) -> Iterator[None]:
        outer = getattr(self._here, name, False)  # nested blocks: leaving the inner keeps the outer
        setattr(self._here, name, True)
        try:
            yield
        finally:
            setattr(self._here, name, outer)

    def inline(self) -> contextlib.AbstractContextManager[None]:
        return self._mark("inline")

    def on_kernel(self) -> contextlib.AbstractContextManager[None]:
        return self._mark("loop")

    def host(self) -> LoopHost | None:
        """The loop the next run takes turns with, or ``None`` (a thread, or inline)."""
        if getattr(self._here, "inline", False) or not getattr(self._here, "loop", False):
            return None
        loop = LoopHost.main_loop() or self._kernel_loop
        return LoopHost(loop) if loop is not None and loop.is_running() else None

    def claim(self, run: Run) -> None:
        """Make ``run`` the pipeline's one generation, or refuse: two at once would share its
        scheduler's state, its guidance and the wrappers on its models, and corrupt each other."""
        with _BUSY_LOCK:
            going = _BUSY.get(id(self.pipe))
            if going is not None and not going.done:
                raise RuntimeError(
                    f"this pipeline is busy with {going!r} of another Runner (a widget's, or one made in a cell): "
                    "stop() it or wait() for it first; a pipeline runs one generation at a time"
                )
            _BUSY[id(self.pipe)] = run

    def prepare(self, run: Run, work: Callable[[], None]) -> None:
        """Give ``run`` its thread, if it gets one (before it is published: ``wait`` joins it)."""
        if not getattr(self._here, "inline", False) and not run.on_kernel:
            run._thread = threading.Thread(
                target=self._counted, args=(run, work), name=f"sdwidget-run-{run.id}", daemon=True
            )
            _THREADED.add(run)

    def go(self, run: Run, work: Callable[[], None], host: LoopHost | None) -> None:
        """Start ``work`` where ``prepare`` and ``host`` said; inline, return once it has ended."""
        if host is not None:
            host.start(lambda: self._counted(run, work))
        elif run._thread is not None:
            run._thread.start()
        else:
            self._counted(run, work)

    def _counted(self, run: Run, work: Callable[[], None]) -> None:
        before = torch.get_num_threads()
        use_threads(run_threads(self.pipe, self.cpu_threads, run.params.get("height"), run.params.get("width")))
        try:
            work()
        finally:
            torch.set_num_threads(before)
