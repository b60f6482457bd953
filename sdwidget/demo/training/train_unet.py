"""Stages 2 and 3: encode a fixed set of drawings once, then train UNet and text encoder together."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

from . import models
from .loop import run_steps, save_atomic, warmup_cosine
from .shapes import batch, held_out
from .train_vae import to_tensor

DROP_PROMPT = 0.1  # share of empty prompts, which teach the unconditional branch CFG needs
# SD's schedule leaves 7% of the signal at t=999, and on 16×16 latents of flat backgrounds that is
# enough for the model to read the background off the noise instead of the prompt (it then
# ignored the background word: 16% right at step 2000). A random per-channel offset in the noise
# hides the mean, so it must come from the text (offset noise, Guttenberg 2023).
OFFSET_NOISE = 0.25


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(prompts, padding="max_length", max_length=models.MAX_TOKENS, truncation=True,
                     return_tensors="pt").input_ids  # fmt: skip


@torch.no_grad()
def encode_dataset(work: Path, vae, tokenizer, seed: int, count: int, log) -> dict:
    path = work / "dataset.pt"
    if path.exists():
        return torch.load(path)
    latents, ids = [], []
    for chunk in range(0, count, 500):
        images, scenes, prompts = batch(500, seed * 104729 + chunk)
        keep = [i for i, scene in enumerate(scenes) if not held_out(scene)]
        mean = vae.encode(to_tensor(images[keep])).latent_dist.mode()
        latents.append((mean * vae.config.scaling_factor).half())
        ids.append(tokenize(tokenizer, [prompts[i] for i in keep]))
        if chunk % 10_000 == 0:
            log(f"encoded {chunk}/{count} drawings")
    data = {"latents": torch.cat(latents), "ids": torch.cat(ids)}
    save_atomic(data, path)
    return data


class Ema(torch.nn.Module):
    """Exponential moving average of the weights, with the usual warm-up of its decay."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        super().__init__()
        self.model, self.decay = copy.deepcopy(model).requires_grad_(False), decay

    @torch.no_grad()
    def update(self, live: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema, param in zip(self.model.parameters(), live.parameters(), strict=True):
            ema.lerp_(param, 1 - decay)


def train_unet(work: Path, data: dict, tokenizer, seed: int, steps: int, log) -> torch.nn.ModuleDict:
    from diffusers import DDPMScheduler

    torch.manual_seed(seed)
    live = torch.nn.ModuleDict({"unet": models.unet(), "text_encoder": models.text_encoder()})
    ema = Ema(live, decay=0.999)
    opt = torch.optim.AdamW(live.parameters(), lr=1e-3, weight_decay=0.01)
    sched = warmup_cosine(opt, steps, warmup=200)
    noise_schedule = DDPMScheduler(**models.scheduler_config())
    alphas = noise_schedule.alphas_cumprod
    empty = tokenize(tokenizer, [""])[0]

    def step(i: int) -> float:
        g = torch.Generator().manual_seed(seed * 1_000_003 + i)
        index = torch.randint(0, len(data["ids"]), (64,), generator=g)
        latents, ids = data["latents"][index].float(), data["ids"][index].clone()
        ids[torch.rand(64, generator=g) < DROP_PROMPT] = empty
        t = torch.randint(0, len(alphas), (64,), generator=g)
        noise = torch.randn(latents.shape, generator=g)
        noise += OFFSET_NOISE * torch.randn(64, latents.shape[1], 1, 1, generator=g)
        noisy = noise_schedule.add_noise(latents, noise, t)
        states = live["text_encoder"](ids)[0]
        pred = live["unet"](noisy, t, states).sample
        snr = alphas[t] / (1 - alphas[t])
        weight = snr.clamp(max=5.0) / snr  # min-SNR: no step size dominates the loss
        loss = (weight * F.mse_loss(pred, noise, reduction="none").mean(dim=(1, 2, 3))).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(live.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update(live, i)
        return loss.item()

    parts = {"live": live, "ema": ema, "opt": opt, "sched": sched}
    run_steps(work / "unet.pt", parts, steps, step, log)
    return ema.model.eval()  # type: ignore[return-value]  # eval() returns the ModuleDict it was called on
