"""How many CPU threads torch uses inside a run's thread.

Once the main thread has used torch on the CPU, an OpenMP team that another thread starts wakes
its workers slowly, so every small op pays tens of microseconds (pytorch/pytorch#37259). A
small model is then fastest on one thread. Large models still gain from every core, so they keep
torch's setting.

Measured per host (``benchmarks/threads.py``, 2-core CPU, quiet, medians of 3, ms a step):

    host           demo at 64², 1 / 2 threads    SD layout at 256², 1 / 2 threads
    main thread    47.8 / 79.9                   631 / 412
    kernel loop    49.0 / 82.5                   633 / 395
    own thread     47.9 / 61.4                   625 / 420

One thread is fastest for the demo on every host, and the host does not change the answer; but
the reduced-width SD layout at 256², also under ``SMALL_MODEL`` parameters, is 1.5–1.6× slower on
one thread: the work a step does depends on the latents' size as much as on the parameters. So
one thread is kept for a small denoiser on small latents (``SMALL_LATENTS``: the demo's 8² and up
to 16²), and torch's setting otherwise: the fastest of each measured cell. ``Runner(cpu_threads=...)``
overrides it.
"""

from __future__ import annotations

import torch

SMALL_MODEL = 100_000_000  # parameters of the denoiser; SD 1.5's UNet has 860 M
SMALL_LATENTS = 16 * 16
"""Latent pixels (height × width over the VAE's factor, squared) up to which a small denoiser
keeps one thread: the demo's 64² images are 8², the SD layout's 256² that needed both cores 32²."""


def run_threads(pipe, requested: int | None, height: int | None = None, width: int | None = None) -> int | None:
    """``requested``, else 1 for a small denoiser on the CPU making images of ``height`` ×
    ``width`` (``None``: not known, taken as small) with small latents, else ``None`` (torch's setting)."""
    if requested is not None:
        return requested
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    if denoiser is None or pipe.device.type != "cpu":
        return None
    if height is not None and width is not None:
        factor = getattr(pipe, "vae_scale_factor", None) or 8
        if (height // factor) * (width // factor) > SMALL_LATENTS:
            return None
    return 1 if sum(p.numel() for p in denoiser.parameters()) < SMALL_MODEL else None


def use_threads(count: int | None) -> None:
    """Set the calling thread's count; OpenMP keeps it per thread, so the caller's is untouched."""
    if count is not None:
        torch.set_num_threads(count)
