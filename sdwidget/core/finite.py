"""Catching NaN or infinite latents at the step boundary, without making a GPU wait.

A half-precision UNet or VAE that overflows turns the latents to NaN; the run would then finish
"successfully" with a black image. The check is one reduction on the latents' device. On the
CPU it is read at once; on CUDA its flag travels to the host with a non-blocking copy and is read
at a later step boundary once it has arrived (or when the run ends), so no step waits for it.
"""

from __future__ import annotations

import torch

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


class FiniteCheck:
    """Per run: ``check`` after every step, ``finish`` once the pipeline returns."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, int, torch.Tensor, torch.cuda.Event]] = []

    def check(self, step: int, total: int, latents: torch.Tensor) -> None:
        bad = ~torch.isfinite(latents).all()
        if latents.device.type != "cuda":
            if bad:
                raise NonFiniteLatents(step, total)
            return
        flag = torch.empty((), dtype=torch.bool, pin_memory=True)
        flag.copy_(bad, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        self._pending.append((step, total, flag, ready))
        self._read(wait=False)

    def finish(self) -> None:
        self._read(wait=True)

    def _read(self, wait: bool) -> None:
        while self._pending and (wait or self._pending[0][3].query()):
            step, total, flag, ready = self._pending.pop(0)
            ready.synchronize()
            if flag.item():
                raise NonFiniteLatents(step, total)
