"""A step's thumbnail as it leaves the device: what every preview produces."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class Frame:
    """A step's thumbnail: ``height × width × 3`` uint8 RGB on the host.

    On a GPU the copy to the host is non-blocking; ``ready`` is the CUDA event that marks its
    arrival, waited for only by whoever reads the pixels, never by the step callback. A frame a
    worker is still decoding (``DecodedPreview``) or not drawn yet (``drawn_later``) has a
    ``ready`` of the same kind: read the pixels through ``numpy``/``image``, not ``pixels``.
    """

    pixels: torch.Tensor
    ready: Any = None

    def numpy(self) -> np.ndarray:
        if self.ready is not None:
            self.ready.synchronize()
        return self.pixels.numpy()

    def image(self) -> Any:
        """The frame as a PIL image."""
        from PIL import Image

        return Image.fromarray(self.numpy(), "RGB")

    def __reduce__(self) -> tuple[Any, tuple[torch.Tensor]]:
        """Copied and pickled as its pixels: a frame drawn later holds a lock and its drawing."""
        return Frame, (torch.from_numpy(self.numpy()),)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, like PIL (once they are there: see ``ready``)."""
        height, width = self.numpy().shape[:2]
        return int(width), int(height)


class _Later:
    """A frame's drawing put off until its first reader (``Frame.numpy`` calls ``synchronize``).

    A drawing that fails leaves the frame blank (one black pixel, as ``DecodedPreview``'s) and
    keeps the exception in ``error``: the reader, often the widget's sender on its own thread,
    goes on, and the run fails as it ends (``draw_later``), saying which step's frame it was."""

    def __init__(self, draw: Callable[[], Frame]) -> None:
        self._lock = threading.Lock()
        self._draw: Callable[[], Frame] | None = draw
        self.pixels: torch.Tensor | None = None
        self.error: Exception | None = None

    def synchronize(self) -> None:
        with self._lock:  # the widget's sender and the run's end may read it at once
            if self._draw is None:
                return
            try:
                self.pixels = torch.from_numpy(self._draw().numpy())
            except Exception as exc:  # noqa: BLE001 - kept for the run to fail with; the reader goes on
                self.error, self.pixels = exc, torch.zeros((1, 1, 3), dtype=torch.uint8)
            self._draw = None  # and the latents it held go with it


class _LaterFrame(Frame):
    """A ``drawn_later`` frame: ``pixels`` draws it when first read. The step makes no tensor for
    it (an empty placeholder cost the step callback ~10 µs, the first tensor op after the model's)."""

    def __init__(self, ready: _Later) -> None:
        object.__setattr__(self, "ready", ready)

    @property
    def pixels(self) -> torch.Tensor:
        self.ready.synchronize()
        return self.ready.pixels


class PreviewFailed(RuntimeError):
    """The preview could not draw a step's frame (drawn after the step, ``Preview.step_frame``)."""

    def __init__(self, step: int, error: Exception) -> None:
        super().__init__(f"the preview could not draw the frame of step {step + 1}: {type(error).__name__}: {error}")
        self.step = step


def drawn_later(draw: Callable[[], Frame]) -> Frame:
    """A frame whose pixels ``draw`` makes when it is first read, on the reader's thread."""
    return _LaterFrame(_Later(draw))


def draw_later(frames: Sequence[Frame], first: int = 0) -> None:
    """Draw those of a run's ``frames`` from step ``first`` on (a branch's earlier ones are its
    parent's) that no reader has drawn yet (``drawn_later``), as it ends: what a run keeps is
    thumbnails, not latents, and each frame shows the preview as it was at its step (before a
    fitted map learns from the run). Frames that other threads fill are not waited for.
    ``PreviewFailed`` names the first step whose frame could not be drawn, by any reader."""
    failed: PreviewFailed | None = None
    for step, frame in enumerate(frames[first:], start=first):
        if isinstance(frame.ready, _Later):
            frame.ready.synchronize()
            if frame.ready.error is not None and failed is None:
                failed = PreviewFailed(step, frame.ready.error)
    if failed is not None:
        raise failed
