"""Exact previews off the step path: the pipeline's own VAE decodes every step on a worker thread.

Where the VAE is small enough to keep up with the steps (the demo model's decodes a step in about
16 ms on one CPU thread, a step takes 18-25 ms), no approximation is needed: the step hook only
copies the latents and queues them, and the frame's pixels are filled in when the worker has
decoded them. Whoever reads a frame (the widget's sender, a gallery) waits for them; the step
never does. When the worker falls behind by more than ``behind`` frames, that step's frame comes
from the ``fallback`` preview instead, so a run is never slowed and the worker catches up.
"""

from __future__ import annotations

import atexit
import queue
import threading
import weakref
from typing import Any

import torch

from .base import Preview, pool, to_uint8
from .frame import Frame
from .scale import to_vae

_LIVE: weakref.WeakSet[DecodedPreview] = weakref.WeakSet()


@atexit.register
def _stop_workers() -> None:
    """A thread still inside torch when the interpreter ends aborts the process ("terminate
    called without an active exception"): each worker is stopped and joined first."""
    for preview in list(_LIVE):
        preview._stop()


class _Pending:
    """A frame being decoded: ``synchronize`` (what ``Frame`` calls before reading) waits for it."""

    def __init__(self, latents: torch.Tensor) -> None:
        self.latents, self.pixels, self.done = latents, torch.empty(0, dtype=torch.uint8), threading.Event()

    def synchronize(self) -> None:
        self.done.wait()


class DecodedPreview(Preview):
    """Frames decoded by ``vae`` itself (exact), on a worker thread with one torch thread.

    ``fallback`` draws a step's frame when ``behind`` frames are still waiting for the worker,
    and every frame of latents that are not on the CPU (on a GPU, use a ``TinyPreview``).
    ``fallback_frames`` counts the frames it drew.
    """

    def __init__(self, vae: Any, fallback: Preview, max_size: int = 128, behind: int = 2) -> None:
        self.vae, self.fallback, self.max_size, self.behind = vae, fallback, max_size, behind
        self.error = 0.0
        self.fallback_frames = 0
        """Frames the fallback drew because the worker was behind (or the latents on a GPU)."""
        self._jobs: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()  # None: stop
        self._waiting = 0
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stopping = False

    @torch.no_grad()
    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        """The VAE's decode of ``(C, h, w)`` latents, shrunk by area to ``max_size``."""
        vae = self.vae
        image = vae.decode(to_vae(vae, latents[None].to(vae.dtype))).sample[0]
        return to_uint8(pool(image.float().clamp(-1, 1), self.max_size))  # clamped first, as the pipeline's images are

    def frame(self, latents: torch.Tensor, *, last: bool = False) -> Frame:
        with self._lock:
            behind = self._waiting >= self.behind and not last
            if latents.device.type == "cpu" and not behind:
                self._waiting += 1
        if latents.device.type != "cpu" or behind:
            self.fallback_frames += 1
            return self.fallback.frame(latents, last=last)
        job = _Pending(latents.detach().clone())  # the scheduler reuses its tensors: a copy of ours
        self._jobs.put(job)
        self._start()
        return Frame(job.pixels, job)

    def _start(self) -> None:
        if self._worker is None:
            # The thread holds the preview only by a weak reference (and only while decoding a
            # frame), so a closed widget's runner and preview can be collected; the finalizer then
            # queues the stop and the thread ends with its owner instead of waiting forever.
            owner = weakref.ref(self)
            self._worker = threading.Thread(
                target=_work, args=(owner, self._jobs), name="sdwidget-preview-decode", daemon=True
            )
            self._worker.start()
            weakref.finalize(self, self._jobs.put, None)
            _LIVE.add(self)

    def _stop(self) -> None:
        """End the worker after the frame it is decoding; frames still queued stay blank."""
        if self._worker is not None:
            self._stopping = True
            self._jobs.put(None)
            self._worker.join(timeout=30)

    def _decode(self, job: _Pending) -> None:
        """Fill in ``job``'s pixels (worker thread)."""
        try:
            # A batch is a grid, as Preview.frame draws it; the base class does the tiling.
            rgb = Preview.frame(self, job.latents).numpy()
            job.pixels.resize_(rgb.shape).copy_(torch.from_numpy(rgb))
        except Exception:  # noqa: BLE001 - a frame that cannot be decoded stays blank, the run goes on
            _blank(job)
        finally:
            with self._lock:
                self._waiting -= 1

    def learn(self, latents: torch.Tensor, image: Any) -> None:
        """The fallback learns (a fitted map refines itself); this preview's own frames are exact."""
        self.fallback.learn(latents, image)


def _work(owner: weakref.ref[DecodedPreview], jobs: queue.SimpleQueue[_Pending | None]) -> None:
    """The worker: decodes queued frames until told to stop or its preview is gone. A frame whose
    preview is gone, or queued after a stop, is left blank, but marked done: no reader waits forever."""
    torch.set_num_threads(1)  # this thread's count only; one thread keeps the run's cores free
    stopped = False
    while True:
        job = jobs.get()
        if job is None:
            return
        preview = owner()  # held while this frame decodes, dropped before the next wait
        stopped = stopped or preview is None or preview._stopping
        if stopped or preview is None:
            _blank(job)
        else:
            preview._decode(job)
        del preview
        job.latents = None  # type: ignore[assignment]
        job.done.set()


def _blank(job: _Pending) -> None:
    job.pixels.resize_(1, 1, 3).zero_()
