"""How many CPU threads torch uses inside a run's thread.

Once the main thread has used torch on the CPU, an OpenMP team that another thread starts wakes
its workers slowly, so every small op pays tens of microseconds (pytorch/pytorch#37259). A
small model is then fastest on one thread: the demo model takes 1.1 s for 20 steps on two
threads in a runner's thread, 0.48 s on one, and 0.5 s bare on the main thread. Large models
still gain from every core, so they keep torch's setting.
"""

from __future__ import annotations

import torch

SMALL_MODEL = 100_000_000  # parameters of the denoiser; SD 1.5's UNet has 860 M


def run_threads(pipe, requested: int | None) -> int | None:
    """``requested``, else 1 for a small denoiser on the CPU, else ``None`` (torch's setting)."""
    if requested is not None:
        return requested
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    if denoiser is None or pipe.device.type != "cpu":
        return None
    return 1 if sum(p.numel() for p in denoiser.parameters()) < SMALL_MODEL else None


def use_threads(count: int | None) -> None:
    """Set the calling thread's count; OpenMP keeps it per thread, so the caller's is untouched."""
    if count is not None:
        torch.set_num_threads(count)
