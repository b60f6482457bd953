"""Per-step latents kept on request, within a memory budget, for full-size decodes later."""

from __future__ import annotations

import copy
import threading

import torch

from ..preview.scale import to_vae


class StepNotKept(KeyError, ValueError):
    """A step whose latents were not kept: a ``ValueError`` for callers checking input, and still
    the ``KeyError`` it used to be for those that caught that."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""  # KeyError's own quotes the message


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
            raise StepNotKept(f"no latents kept for step {step}: {where} were kept (budget {self.budget >> 20} MiB)")
        return found


@torch.no_grad()
def decode_image(pipe, latents: torch.Tensor):
    """Full-size PIL image of ``latents`` (as an image: ``Family.image_view``) through the
    pipeline's VAE, as the pipelines decode: de-normalised by the VAE's ``latents_mean``/``latents_std``
    where it has them (else unscaled and, where the VAE has a ``shift_factor``, unshifted; a VAE
    with no scaling factor as they are, its family's view having undone its own normalisation), and in
    float32 where an fp16 VAE asks for it (``force_upcast``: some VAEs overflow to NaN in fp16)."""
    vae = pipe.vae
    if vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False):
        # A float32 copy rather than the pipeline's own VAE cast there and back: a run may be using it.
        vae = copy.deepcopy(vae).float()
    latents = latents.to(vae.device, vae.dtype)
    mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
    if mean is not None and std is not None:
        mean, std = (torch.tensor(v).view(1, -1, 1, 1).to(latents) for v in (mean, std))
        latents = latents * std / getattr(vae.config, "scaling_factor", 1.0) + mean
    elif getattr(vae.config, "scaling_factor", None) is not None:
        latents = to_vae(vae, latents)
    # else a VAE with no scaling factor: the family's image view undid its own normalisation.
    video = getattr(vae.config, "z_dim", None) is not None  # a video VAE (Qwen-Image's): (b, c, frames, h, w)
    image = vae.decode(latents[:, :, None] if video else latents, return_dict=False)[0]
    image = image[:, :, 0] if video else image
    return pipe.image_processor.postprocess(image, output_type="pil")[0]
