"""Per-step latents kept on request, within a memory budget, for full-size decodes later."""

from __future__ import annotations

import threading

import torch


class LatentStore:
    """Clones of the shown latents (x0 estimate, else x_t) by step, on their device.

    Keeping stops, rather than evicting, once ``budget`` bytes are used: the earliest steps
    stay decodable and ``steps`` says which ones are.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._by_step: dict[int, torch.Tensor] = {}
        self._lock = threading.Lock()

    def add(self, step: int, latents: torch.Tensor) -> None:
        size = latents.numel() * latents.element_size()
        if self.used + size > self.budget:
            return
        with self._lock:
            self._by_step[step] = latents.detach().clone()
            self.used += size

    @property
    def steps(self) -> list[int]:
        with self._lock:
            return sorted(self._by_step)

    def get(self, step: int) -> torch.Tensor:
        with self._lock:
            found = self._by_step.get(step)
        if found is None:
            kept = self.steps
            where = f"steps {kept[0]}..{kept[-1]}" if kept else "no steps"
            raise KeyError(f"no latents kept for step {step}: {where} were kept (budget {self.budget >> 20} MiB)")
        return found


@torch.no_grad()
def decode_image(pipe, latents: torch.Tensor):
    """Full-size PIL image of ``latents`` through the pipeline's VAE, as the pipeline decodes."""
    vae = pipe.vae
    latents = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
    image = vae.decode(latents, return_dict=False)[0]
    return pipe.image_processor.postprocess(image, output_type="pil")[0]
