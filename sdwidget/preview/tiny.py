"""A tiny autoencoder (TAESD family: diffusers' ``AutoencoderTiny``) as the preview.

``madebyollin/taesd`` (SD 1.x/2.x) and ``madebyollin/taesdxl`` (SDXL), the families the runner
steers, decode latents to nearly the VAE's image at a small share of its cost: what ComfyUI and
AUTOMATIC1111 preview with. ``Runner(pipe, preview=AutoencoderTiny.from_pretrained("madebyollin/taesd"))``
uses one. (``taesd3`` and ``taef1`` decode too, from their configs' scaling and shift, for
pipelines whose latents are ``(N, C, h, w)``; Flux packs its latents, which ``rgb`` refuses.)
"""

from __future__ import annotations

import time
from typing import Any

import torch

from .base import Preview, pool, to_uint8
from .frame import Frame
from .scale import to_vae

SHARE = 0.25
"""The most of a run's time the tiny decoder may take, by default."""


class TinyPreview(Preview):
    """Decodes each step's latents (the x0 estimate, by default) with an ``AutoencoderTiny`` on
    their device, then shrinks the image to the thumbnail there.

    The rule for skipping: a step is decoded when at least ``cost / share`` seconds have passed
    since the last decode began, where ``cost`` is the decode's own measured time (a running
    mean; on CUDA read from events, never waited for) and ``share`` 0.25 by default. So decoding
    takes at most about a quarter of a run's time: every step when a step takes at least three
    times the decode, else every k-th step, k = ⌈(1/share − 1) · cost / step⌉ (a 30 ms decode
    on 10 ms steps: every 9th step). A skipped step shows the last decoded frame. Always
    decoded: the first step, the last (``frame(..., last=True)``), and a step after a gap of more
    than four usual steps (a pause, a new run). ``share=1`` decodes every step.
    """

    def __init__(self, vae: Any, max_size: int = 128, share: float = SHARE) -> None:
        """``vae``: an ``AutoencoderTiny`` (put in eval mode, gradients off); it follows the
        latents to their device on first use. Latents are decoded as a pipeline would with it as
        its VAE: ``latents / scaling_factor + shift_factor`` of its config."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share!r}")
        self.vae = vae.eval().requires_grad_(False)
        self.max_size, self.share = max_size, share
        self.cost: float | None = None
        """Seconds one decode takes (a running mean), once measured."""
        self.decoded = 0
        """Steps decoded so far (the others showed the last decoded frame)."""
        self.step_time: float | None = None
        """Seconds between steps (a running mean), once measured."""
        self._shown: Frame | None = None
        self._began = self._previous = 0.0
        self._timing: tuple[Any, Any] | None = None

    @torch.no_grad()
    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if latents.ndim != 3:
            raise ValueError(f"TinyPreview needs (C, h, w) latents, got shape {tuple(latents.shape)} (packed?)")
        param = next(self.vae.parameters())
        if param.device != latents.device:
            self.vae.to(latents.device)
        x = to_vae(self.vae, latents[None].to(param.dtype))  # as a pipeline with it in place of its VAE decodes
        image = self.vae.decode(x, return_dict=False)[0][0].float().clamp_(-1, 1)
        return to_uint8(pool(image, self.max_size))

    def _note_cost(self, seconds: float) -> None:
        self.cost = seconds if self.cost is None else 0.8 * self.cost + 0.2 * seconds

    def _read_timing(self) -> None:
        if self._timing is not None and self._timing[1].query():  # the GPU has finished it: no wait
            self._note_cost(self._timing[0].elapsed_time(self._timing[1]) / 1000)
            self._timing = None

    def due(self, now: float, last: bool = False) -> bool:
        """Whether a step reached at ``now`` (``time.perf_counter()``) is decoded."""
        if self._shown is None or last or self.cost is None:
            return True
        if self.step_time is not None and now - self._previous > 4 * self.step_time:
            return True  # a pause or a new run
        return now - self._began >= self.cost / self.share

    def frame(self, latents: torch.Tensor, *, last: bool = False) -> Frame:
        now = time.perf_counter()
        self._read_timing()
        due = self.due(now, last)
        if self._shown is not None:
            gap = now - self._previous
            if self.step_time is None or gap <= 4 * self.step_time:
                self.step_time = gap if self.step_time is None else 0.8 * self.step_time + 0.2 * gap
        self._previous = now
        if not due and self._shown is not None:
            return self._shown
        self._began, self.decoded = now, self.decoded + 1
        cuda = latents.device.type == "cuda"
        if cuda and self._timing is None:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            shown = super().frame(latents)
            end.record()
            self._timing = (start, end)
        else:
            shown = super().frame(latents)
            if not cuda:
                self._note_cost(time.perf_counter() - now)
        self._shown = shown
        return shown

    def reset(self) -> None:
        """Forget the last frame, so the next run's first step is decoded (``learn`` calls it)."""
        self._shown = None

    def learn(self, latents: torch.Tensor, image: Any) -> None:
        self.reset()
        super().learn(latents, image)


def is_tiny_autoencoder(obj: Any) -> bool:
    """Whether ``obj`` is a diffusers ``AutoencoderTiny`` (checked without importing diffusers first)."""
    return any(c.__name__ == "AutoencoderTiny" and c.__module__.startswith("diffusers") for c in type(obj).__mro__)


def as_preview(obj: Any, max_size: int = 128) -> Preview:
    """A ``Preview`` for what ``Runner(pipe, preview=...)`` was given: a ``Preview`` as it is, an
    ``AutoencoderTiny`` (TAESD family) wrapped in a ``TinyPreview`` with thumbnails of at most
    ``max_size``. Anything else is a ``TypeError``."""
    if isinstance(obj, Preview):
        return obj
    if is_tiny_autoencoder(obj):
        return TinyPreview(obj, max_size=max_size)
    raise TypeError(f"preview must be a sdwidget Preview or a diffusers AutoencoderTiny, got {type(obj).__name__}")
