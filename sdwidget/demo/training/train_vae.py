"""Stage 1: the VAE (×4 down, 4 latent channels) learns to reconstruct drawn pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import models
from .loop import run_steps, warmup_cosine
from .shapes import batch


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_vae(work: Path, seed: int, steps: int, log) -> torch.nn.Module:
    torch.manual_seed(seed)
    vae = models.vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    sched = warmup_cosine(opt, steps, warmup=50)

    def step(i: int) -> float:
        images = to_tensor(batch(16, seed * 7919 + i)[0])
        posterior = vae.encode(images).latent_dist
        noise = torch.randn(posterior.mean.shape, generator=torch.Generator().manual_seed(seed + i))
        recon = vae.decode(posterior.mean + posterior.std * noise).sample
        # L1 keeps flat colours exact and edges sharp; the tiny KL only keeps latents bounded.
        loss = F.l1_loss(recon, images) + F.mse_loss(recon, images) + 1e-6 * posterior.kl().mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        return loss.item()

    run_steps(work / "vae.pt", {"vae": vae, "opt": opt, "sched": sched}, steps, step, log)
    vae.eval()
    with torch.no_grad():
        latents = vae.encode(to_tensor(batch(512, seed + 1)[0])).latent_dist.mode()
    # As SD does: scale latents to unit variance so the noise schedule fits them.
    vae.register_to_config(scaling_factor=round(1.0 / latents.std().item(), 5))
    log(f"vae scaling factor {vae.config.scaling_factor}")
    return vae
