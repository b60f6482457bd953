"""The preview decoder's examples: the x0 estimates real sampling runs show the preview, each
paired with what the VAE itself decodes from it (as ``Run.decode_step`` shows it).

Early estimates are blurred, over-driven blends far from any clean latent (the first decoder,
trained on mixed and noised clean latents, was up to 58/255 off the VAE early in a run), so the
examples come from 640 runs of the demo pipeline, 12 steps of each from the first to the last
(Euler, Euler ancestral and DDIM; 8 to 60 steps; guidance 1 to 12; a third of the prompts a small
shape on a light background, the case that failed). ``EVAL_PROMPTS`` and seeds from ``EVAL_SEED``
on are never trained on: tests and ``benchmarks/preview_fidelity.py`` judge the decoder with them.
"""

from __future__ import annotations

import functools
import random
import time
from pathlib import Path

import numpy as np
import torch

from .loop import save_atomic
from .shapes import COLOURS, Scene, random_scene

EVAL_PROMPTS = (
    "a small green ring on a white background",  # the checkered blob
    "a small red cross at the top right on a white background",
    "a small blue star on a yellow background",
    "a small purple triangle at the bottom left on a white background",
    "a small black circle on an orange background",
    "a large orange square on a blue background",
    "a yellow ring on a purple background",
    "a white star at the left on a black background",
)
"""Prompts the preview decoder never trains on; tests and the benchmark judge it with them."""
EVAL_SEED = 90_000
"""Judging runs use seeds from here on; training runs use seeds below it."""
VALIDATION_SEED = EVAL_SEED + 500
"""Training picks nothing by the tests' seeds: its own held-out runs start here."""
LIGHT = ("white", "yellow", "orange")

CHUNK = 32  # prompts per batched pipeline call
KEEP = 12  # x0 estimates kept per run, evenly spaced, the first and last included
# Each chunk: (sampler, steps, guidance). The last four, at the guidance the widget starts at, were
# added when mid-run frames of 60-step runs were the worst (10.7/255).
PLAN = (
    ("euler", 20, 7.5), ("euler", 60, 5.0), ("euler", 10, 3.0), ("ddim", 30, 9.0),
    ("euler", 12, 12.0), ("euler_a", 25, 6.0), ("euler", 15, 1.0), ("euler", 30, 7.5),
    ("ddim", 20, 4.0), ("euler", 8, 10.0), ("euler_a", 40, 8.0), ("euler", 20, 2.0),
    ("euler", 15, 7.5), ("ddim", 12, 6.0), ("euler", 25, 10.0), ("euler", 10, 5.0),
    ("euler", 60, 7.5), ("euler", 40, 7.5), ("euler", 20, 7.5), ("euler", 60, 9.0),
)  # fmt: skip


def training_prompts(count: int, seed: int) -> list[str]:
    """Random scenes, a third of them a small shape on a light background; never an eval prompt."""
    rng, out = random.Random(seed), list[str]()
    while len(out) < count:
        scene = random_scene(rng)
        if rng.random() < 1 / 3:
            background = rng.choice(LIGHT)
            colour = rng.choice([c for c in sorted(COLOURS) if c != background])
            scene = Scene(scene.shape, colour, background, "small", scene.position)
        prompt = scene.prompt(rng.random() < 0.9 or scene.size == "medium", rng.random() < 0.9)
        if prompt not in EVAL_PROMPTS:
            out.append(prompt)
    return out


def chunk_prompts(seed: int, index: int) -> list[str]:
    """The prompts of chunk ``index`` of ``PLAN`` for training seed ``seed``."""
    return training_prompts(CHUNK, seed * 7919 + index)


def _scheduler(pipe, name: str):
    from diffusers import DDIMScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler

    kind = {"euler": EulerDiscreteScheduler, "euler_a": EulerAncestralDiscreteScheduler, "ddim": DDIMScheduler}[name]
    return kind.from_config(pipe.scheduler.config)


@torch.no_grad()
def sample_x0(pipe, prompts: list[str], steps: int, guidance: float, seed: int, sampler: str = "euler"):
    """Every step's x0 estimate of a batched run, ``(steps, N, C, h, w)``, as the preview sees them."""
    scheduler = _scheduler(pipe, sampler)
    original, seen = scheduler.step, []

    @functools.wraps(original)
    def step(*args, return_dict: bool = True, **kwargs):
        out = original(*args, return_dict=True, **kwargs)
        seen.append(out.pred_original_sample.float().clone())
        return out if return_dict else out.to_tuple()

    scheduler.step = step
    kept, pipe.scheduler = pipe.scheduler, scheduler
    try:
        size = pipe.unet.config.sample_size * pipe.vae_scale_factor
        pipe(prompts, num_inference_steps=steps, guidance_scale=guidance, height=size, width=size,
             generator=torch.Generator("cpu").manual_seed(seed), output_type="latent")  # fmt: skip
    finally:
        pipe.scheduler = kept
    return torch.stack(seen)


@torch.no_grad()
def vae_pixels(vae, latents: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """The VAE's decode as the pipeline shows it: uint8 ``(N, 3, H, W)``."""
    out = []
    for chunk in latents.split(batch):
        param = next(vae.parameters())
        image = vae.decode(chunk.to(param.device, param.dtype) / vae.config.scaling_factor).sample.float()
        out.append(((image / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).cpu())
    return torch.cat(out)


def collect(pipe, work: Path, seed: int, log) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents ``(N, C, h, w)`` float16 and their VAE decodes uint8, one cached file per chunk."""
    folder = work / "preview-examples"
    folder.mkdir(parents=True, exist_ok=True)
    latents, pixels = [], []
    for i, (sampler, steps, guidance) in enumerate(PLAN):
        path = folder / f"{seed}-{i}-{sampler}-{steps}-{guidance:g}-{CHUNK}x{KEEP}.pt"
        if not path.exists():
            began = time.monotonic()
            x0 = sample_x0(pipe, chunk_prompts(seed, i), steps, guidance, seed * 1009 + i, sampler)
            x0 = x0[np.linspace(0, steps - 1, min(KEEP, steps)).round().astype(int)].flatten(0, 1)
            save_atomic({"latents": x0.half(), "pixels": vae_pixels(pipe.vae, x0)}, path)
            log(f"preview examples {i + 1}/{len(PLAN)}: {len(x0)} x0 estimates ({time.monotonic() - began:.0f} s)")
        chunk = torch.load(path)
        latents.append(chunk["latents"])
        pixels.append(chunk["pixels"])
    return torch.cat(latents), torch.cat(pixels)


def last_steps(count: int) -> torch.Tensor:
    """Indices of the last step's estimates among ``collect``'s examples (each chunk's last runs)."""
    index, start = [], 0
    for _, steps, _ in PLAN:
        start += min(KEEP, steps) * CHUNK
        index.append(torch.arange(start - CHUNK, start))
    assert start == count, (start, count)
    return torch.cat(index)


def validation_examples(pipe) -> tuple[torch.Tensor, torch.Tensor]:
    """Every step of each eval prompt at 20 and at 60 steps, guidance 7.5, from ``VALIDATION_SEED``:
    latents and their VAE pixels."""
    x0 = [sample_x0(pipe, list(EVAL_PROMPTS), steps, 7.5, VALIDATION_SEED).flatten(0, 1) for steps in (20, 60)]
    latents = torch.cat(x0)
    return latents, vae_pixels(pipe.vae, latents)
