"""A training loop that checkpoints atomically and resumes where it stopped.

Each step draws its data and noise from generators seeded by (seed, step), so a resumed run takes
exactly the steps an uninterrupted one would.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch


def warmup_cosine(opt: torch.optim.Optimizer, steps: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def run_steps(
    path: Path,
    parts: dict,
    steps: int,
    step_fn: Callable[[int], float],
    log: Callable[[str], None],
    every_s: float = 120.0,
) -> None:
    """Call ``step_fn(step)`` for the steps not yet in the checkpoint at ``path``; ``parts`` are saved."""
    start = 0
    if path.exists():
        saved = torch.load(path, weights_only=False)
        for name, part in parts.items():
            part.load_state_dict(saved[name])
        start = saved["step"]
        log(f"{path.stem}: resuming at step {start}/{steps}")
    last_save, began, losses = time.monotonic(), time.monotonic(), []
    for step in range(start, steps):
        losses.append(step_fn(step))
        done = step + 1
        if done % 100 == 0 or done == steps:
            rate = (time.monotonic() - began) / (done - start)
            log(f"{path.stem} step {done}/{steps} loss {sum(losses) / len(losses):.4f} ({rate:.2f} s/step)")
            losses.clear()
        if time.monotonic() - last_save > every_s or done == steps:
            save_atomic({"step": done, **{n: p.state_dict() for n, p in parts.items()}}, path)
            last_save = time.monotonic()
