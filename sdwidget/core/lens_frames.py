"""What a guidance lens shows: its x0 as the run's own preview draws it, and a quicker picture for
a slider in motion.

A run's preview may be exact and slow: ``DecodedPreview`` decodes with the VAE on a worker thread
(the demo's: 16 ms quiet, 40-90 ms on a loaded 2-core CPU), too slow to follow a dragged slider.
Its fallback (the demo's preview decoder net, about 2 ms on one thread) draws the frames the run
shows when that worker falls behind: the same kind of picture, made at once. Both are made when
first read, so a lens nobody looks at costs its x0 alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import torch

from ..preview import DecodedPreview, Frame, Preview
from ..preview.base import on_one_thread


class Pictures:
    """A run's two ways to draw a lens's x0: its own preview (``frame``) and a quick one."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        self.fast = preview.fallback if isinstance(preview, DecodedPreview) else preview
        self.rough = self.fast is not preview
        """Whether the quick picture is rougher than the run's own (a decoding preview's fallback)."""

    def frame(self, latents: torch.Tensor) -> Frame:
        return self.preview.frame(latents, last=True)

    def quick(self, latents: torch.Tensor) -> Frame:
        # One torch thread: on a busy 2-core CPU two threads made the demo's net 10-200 ms, one 2 ms.
        return on_one_thread(partial(self.fast.frame, last=True), latents)


@dataclass(frozen=True)
class Lens:
    """One step seen at one guidance value."""

    step: int
    guidance: float
    applied: bool
    """Whether the step ran (or, held, is about to run) at this value."""
    latents: torch.Tensor
    """The x0 estimate, as the preview shows it (``Family.image_view``)."""
    pictures: Pictures = field(repr=False)
    """How the run draws ``latents``."""
    image: Any = None
    """The VAE's image of ``latents`` (``decode=True``)."""

    @cached_property
    def frame(self) -> Frame:
        """The run's own preview of ``latents``, as its steps show (the demo's: the VAE's decode)."""
        return self.pictures.frame(self.latents)

    @cached_property
    def quick(self) -> Frame:
        """A picture made at once, for a slider in motion: ``frame`` itself where the run's preview
        is cheap; where it decodes with the VAE (``rough``), its fallback's picture of ``latents``."""
        return self.pictures.quick(self.latents) if self.pictures.rough else self.frame

    @property
    def rough(self) -> bool:
        """Whether ``quick`` is a rougher picture than ``frame`` (say so where it is shown)."""
        return self.pictures.rough
