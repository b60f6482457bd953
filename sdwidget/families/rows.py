"""Rows of a pipeline call's batch: one per image, each prompt's images in a row."""

from __future__ import annotations

from typing import Any

import torch


def batch_rows(prompt: str | list[str], pipe_kwargs: dict[str, Any]) -> int:
    """How many images the call makes, one per latent row: each prompt × ``num_images_per_prompt``."""
    return (len(prompt) if isinstance(prompt, list) else 1) * pipe_kwargs.get("num_images_per_prompt", 1)


def fit(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """``tensor`` repeated to ``batch`` rows as the pipelines repeat embeddings for
    ``num_images_per_prompt``: each row ``batch // rows`` times in a row."""
    rows = tensor.shape[0]
    return tensor if rows == batch else tensor.repeat_interleave(batch // rows, dim=0)
