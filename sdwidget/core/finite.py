"""Catching NaN or infinite latents at the step boundary, without making a GPU wait.

A half-precision UNet or VAE that overflows turns the latents to NaN; the run would then finish
"successfully" with a black image. The check is one reduction on the latents' device: their sum,
in float32, which is NaN or infinite exactly when an element is, unless finite latents sum past
3.4e38 (a mean magnitude over 2e34 for 64×64×4 latents: a run diverged already, one step from
overflowing). One ``sum`` costs 12 µs median on this 2-core CPU where ``~isfinite(x).all()``,
three kernels, cost 66 µs (32² latents, machine loaded). On the CPU it is read at once; on CUDA
the sum travels to the host with a non-blocking copy and is read at a later step boundary once
it has arrived (or when the run ends), so no step waits for it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..preview.base import on_one_thread

CAUSES = (
    "usual causes: a float16 UNet or VAE overflowing (load it in float32 or bfloat16, or use an "
    "fp16-safe VAE, such as the fp16-fix VAEs published for the model), a guidance scale far too high, or a "
    "scheduler configured for another model"
)


class NonFiniteLatents(FloatingPointError):
    """The latents held NaN or infinite values after a step."""

    def __init__(self, step: int, total: int) -> None:
        super().__init__(f"the latents became NaN or infinite at step {step + 1} of {total}; {CAUSES}")
        self.step = step


GRAIN = 32768
"""torch's ``at::internal::GRAIN_SIZE``: a CPU reduction over fewer elements stays on one thread."""


def _sum(latents: torch.Tensor) -> torch.Tensor:
    """Accumulated in float32: a float16 sum of finite latents could overflow."""
    return latents.sum(dtype=torch.float32)


def _host_sum(latents: torch.Tensor) -> float:
    """``_sum`` on the calling thread alone. Below torch's grain for splitting a reduction across
    its team (32768 elements: 4-channel latents up to 90², 16-channel up to 45²) torch's own sum runs on
    the calling thread and is the cheapest first work after the model's call: 41 µs in the step
    callback where numpy's took 69 (4×32² latents, 2-core CPU, loaded). Above it numpy's, over
    the flat array (its ``sum`` of a 4-d array with a ``dtype`` takes a buffered path, 4× slower):
    torch would split the sum across its team, which waits for busy cores, and switching torch to
    one thread costs ~60 µs (its thread pools are resized)."""
    if latents.numel() < GRAIN:
        return float(_sum(latents))
    if latents.dtype == torch.float32:
        return float(np.add.reduce(latents.detach().numpy().reshape(-1)))
    if latents.dtype == torch.float16:
        return float(np.add.reduce(latents.detach().numpy().reshape(-1), dtype=np.float32))
    return float(on_one_thread(_sum, latents))


class FiniteCheck:
    """Per run: ``check`` after every step, ``finish`` once the pipeline returns."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, int, torch.Tensor, torch.cuda.Event]] = []

    def check(self, step: int, total: int, latents: torch.Tensor) -> None:
        device = latents.device.type
        if device != "cuda":
            if not math.isfinite(_host_sum(latents) if device == "cpu" else float(_sum(latents))):
                raise NonFiniteLatents(step, total)
            return
        summed = _sum(latents)
        host = torch.empty((), dtype=torch.float32, pin_memory=True)
        host.copy_(summed, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        self._pending.append((step, total, host, ready))
        self._read(wait=False)

    def finish(self) -> None:
        self._read(wait=True)

    def _read(self, wait: bool) -> None:
        while self._pending and (wait or self._pending[0][3].query()):
            step, total, host, ready = self._pending.pop(0)
            ready.synchronize()
            if not math.isfinite(host.item()):
                raise NonFiniteLatents(step, total)
