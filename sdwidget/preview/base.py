"""The one interface every preview implements: latents on their device → a small RGB ``Frame``."""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from .frame import Frame, drawn_later

MEASURED_RUNS = 16
"""``Preview.error`` is the mean over this many most recent finished runs."""
T = TypeVar("T")


class Preview:
    """Projects latents to a small RGB frame (subclasses say how, for one image: ``rgb``).

    Pass one to ``Runner(pipe, preview=...)``; without one the runner picks ``auto_preview``.
    Only the thumbnail leaves the device: on CUDA through a pinned buffer with a non-blocking
    copy and an event, so the step callback never waits for the GPU.
    """

    max_size: int
    """The longest side of a frame, in pixels."""

    error: float | None = None
    """How rough the preview is: the mean absolute difference, in 0–255 units per channel, of its
    frames from the VAE's decode of the same latents (shrunk to the frame's size by area); ``None``
    while unknown. It is measured on each finished run (``learn``: its final latents against its
    image, the mean over the last ``MEASURED_RUNS`` runs); before any run, it is what the preview
    came with: a fitted map's error on its calibration images, a shipped decoder's error measured
    on held-out runs when it was trained."""

    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        """``(C, h, w)`` latents → ``(h', w', 3)`` uint8 on the same device, h', w' ≤ max_size."""
        raise NotImplementedError

    def recipe(self) -> list[dict[str, Any]] | None:
        """``rgb`` as ops a browser runs itself (``js/src/recipe.js``): each a dict with its ``op``
        (conv, group_norm, silu, push, add, pixel_shuffle, clamp, pool, to_uint8, bytes), its
        numbers and its float32 CPU tensors; or ``None`` (the default): the page asks the kernel."""
        return None

    def learn(self, latents: torch.Tensor, image: Any) -> None:
        """Called with each finished run's final latents and image (PIL). The preview is measured
        on them (``error``); previews that can improve from a real decode also do so here."""
        self.measure_quietly(latents, image)

    def measure_quietly(self, latents: torch.Tensor, image: Any) -> None:
        """``note_error(measure(...))``, where a failure only leaves ``error`` as it was: a finished
        run must not fail over its preview's score."""
        with contextlib.suppress(Exception):  # the run's image is done; its preview's score is a nicety
            self.note_error(self.measure(latents, image))

    def measure(self, latents: torch.Tensor, image: Any) -> float:
        """The mean absolute difference (0–255 units) of this preview of ``latents[0]`` from
        ``image``, the VAE's decode of them, shrunk to the frame's size by area."""
        rgb = self.rgb(latents[0]).cpu().numpy().astype(np.float32)
        height, width = rgb.shape[:2]
        target = image.convert("RGB")
        if target.size != (width, height):
            from PIL import Image

            target = target.resize((width, height), Image.Resampling.BOX)
        return float(np.abs(rgb - np.asarray(target, dtype=np.float32)).mean())

    def note_error(self, value: float) -> None:
        """Count one measurement into ``error``."""
        measured = self.__dict__.setdefault("_measured", deque(maxlen=MEASURED_RUNS))
        measured.append(float(value))
        self.error = sum(measured) / len(measured)  # one assignment: readers on other threads see a whole value

    def step_frame(
        self, latents: torch.Tensor, *, last: bool = False, fresh: bool = False,
        view: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> Frame:  # fmt: skip
        """``frame`` as the step callback takes it. On the CPU the step pays at most a copy of the
        latents: the frame is drawn by its first reader (the widget's sender, on its own thread)
        or once the run ends (``draw_later``), never on the step's path (``rgb`` must be safe on
        another thread). ``fresh``: nothing writes into ``latents`` after the step (the scheduler's
        x0, new each step): kept with no copy. ``view``: what makes them an image (a flow family's
        unpacking copies them), applied as the frame is drawn. On a GPU it is drawn in stream order,
        as ``frame`` does; so is a preview's own ``frame`` (``TinyPreview``, ``DecodedPreview``)."""
        view = view or (lambda latents: latents)
        if latents.device.type != "cpu" or type(self).frame is not Preview.frame:
            return self.frame(view(latents), last=last)
        # The loop's latents may be written into before the frame is read: those are copied.
        kept = latents.detach().clone() if not fresh else latents.detach() if latents.requires_grad else latents
        return drawn_later(lambda: self.frame(view(kept), last=last))

    def frame(self, latents: torch.Tensor, *, last: bool = False) -> Frame:
        """The thumbnail of ``latents`` ``(N, C, h, w)``: one image, or a batch's images as a grid
        that fits ``max_size`` as one image would. ``last``: this is the run's last step (a
        preview that skips steps, such as ``TinyPreview``, always shows that one)."""
        rgb = self.rgb(latents[0]) if len(latents) == 1 else grid([self.rgb(x) for x in latents], self.max_size)
        if rgb.device.type != "cuda":
            return Frame(rgb)
        host = torch.empty(rgb.shape, dtype=torch.uint8, pin_memory=True)
        host.copy_(rgb, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return Frame(host, ready)


def grid(images: list[torch.Tensor], max_size: int) -> torch.Tensor:
    """``(H, W, 3)`` uint8 images, as many columns as rows (or one more), shrunk by area to at
    most ``max_size`` a side: the frame stays as small on the wire as a single image's."""
    columns = math.ceil(math.sqrt(len(images)))
    blank = torch.zeros_like(images[0])
    images = images + [blank] * (-len(images) % columns)
    rows = [torch.cat(images[i : i + columns], dim=1) for i in range(0, len(images), columns)]
    tiled = torch.cat(rows, dim=0).permute(2, 0, 1).float()
    return pool(tiled, max_size).round_().permute(1, 2, 0).to(torch.uint8)


def pool(x: torch.Tensor, max_size: int) -> torch.Tensor:
    """``(C, H, W)`` average-pooled to at most ``max_size`` a side."""
    stride = math.ceil(max(x.shape[-2:]) / max_size)
    return F.avg_pool2d(x[None], stride, ceil_mode=True)[0] if stride > 1 else x


def to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` in [-1, 1] → ``(H, W, 3)`` uint8, rounded as the pipeline rounds its images."""
    return ((rgb.permute(1, 2, 0) + 1.0) * 127.5 + 0.5).clamp_(0, 255).to(torch.uint8)


def on_one_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` with torch on the calling thread alone: for the step callback's few small
    CPU ops (the preview's map, the finite check).

    MKL splits even a ``(4096, 4) @ (4, 3)`` product across torch's OpenMP team, and on a CPU
    whose other cores are busy the team waits for them: on this 2-core machine (loaded, SD's
    64² latents) that ``addmm`` took 15 ms median on two threads, 0.18 ms on one. Switching the
    count costs 0.6 µs a pair and starts no thread. One thread also fixes the order of the
    sums, so a frame is the same whatever the run's thread count.
    """
    # Per thread: OpenMP and MKL keep the count per calling thread.
    count = torch.get_num_threads()
    if count == 1:
        return fn(*args)
    torch.set_num_threads(1)
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(count)
