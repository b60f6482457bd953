"""Judging a 64×64 picture against its scene: colours, size and place by pixel statistics, shape
by a small CNN.

The CNN sees only a foreground mask (pixels far from the background colour), so it learns shape
alone, independent of colour, and is trained on the drawing code's own jittered pictures, half of
them blurred as a VAE blurs.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from .shapes import COLOURS, POSITIONS, SHAPES, SIZE, SIZES, Scene, batch, draw

_NAMES = sorted(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _NAMES], dtype=np.float32)


def nearest_colour(rgb: np.ndarray) -> str:
    return _NAMES[int(np.argmin(((_PALETTE - rgb) ** 2).sum(axis=1)))]


def background(image: np.ndarray) -> np.ndarray:
    """Median colour of the 2-pixel border: shapes keep 3 px from the edge, so it is background."""
    border = np.concatenate([image[:2].reshape(-1, 3), image[-2:].reshape(-1, 3),
                             image[:, :2].reshape(-1, 3), image[:, -2:].reshape(-1, 3)])  # fmt: skip
    return np.median(border.astype(np.float32), axis=0)


def foreground(image: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """0..1 per pixel: distance from the background colour, saturating at 80 RGB units (palette
    colours are at least 99 apart, so every shape pixel saturates)."""
    distance = np.sqrt(((image.astype(np.float32) - bg) ** 2).sum(axis=-1))
    return np.clip(distance / 80.0, 0.0, 1.0)


def _area(shape: str, size: str) -> int:
    image = np.asarray(draw(Scene(shape, "white", "black", size)))
    return int((foreground(image, background(image)) > 0.5).sum())


# Shapes cover different shares of their radius, so size is read against a drawing of the same shape.
_AREAS = {(shape, size): _area(shape, size) for shape in SHAPES for size in SIZES}


def size_and_position(mask: np.ndarray, shape: str) -> tuple[str, str]:
    """Size word whose drawn area is nearest (on a log scale), then the place on the 3×3 grid of
    centres that the drawing code uses for that size, read off the mask's extent."""
    if not mask.any():
        return "none", "none"
    size = min(SIZES, key=lambda name: abs(np.log(mask.sum() / _AREAS[shape, name])))
    ys, xs = np.nonzero(mask)
    margin = SIZES[size] + 3
    grid = np.array([margin, SIZE / 2, SIZE - margin])
    # Extents from the 2nd to the 98th percentile: a few stray pixels must not move the centre.
    col, row = (int(np.abs(grid - (np.percentile(v, 2) + np.percentile(v, 98) + 1) / 2).argmin()) for v in (xs, ys))
    return size, next(name for name, place in POSITIONS.items() if place == (col, row))


def classifier() -> nn.Module:
    def block(a: int, b: int) -> list:
        return [nn.Conv2d(a, b, 3, padding=1), nn.GroupNorm(8, b), nn.SiLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), *block(64, 64),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, len(SHAPES)))  # fmt: skip


def masks(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([foreground(im, background(im)) for im in images]))[:, None]


def soften(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half the pictures shrunk to 16–40 px and enlarged back: the blur of generated images."""
    out = images.copy()
    for i in np.flatnonzero(rng.random(len(images)) < 0.5):
        side = int(rng.integers(16, 41))
        small = Image.fromarray(images[i]).resize((side, side), Image.Resampling.BILINEAR)
        out[i] = np.asarray(small.resize(images.shape[1:3], Image.Resampling.BILINEAR))
    return out


def train_classifier(steps: int, seed: int, log=print) -> nn.Module:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = classifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for step in range(steps):
        images, scenes, _ = batch(64, seed * 1_000_003 + step)
        labels = torch.tensor([SHAPES.index(s.shape) for s in scenes])
        loss = nn.functional.cross_entropy(model(masks(soften(images, rng))), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"classifier step {step}/{steps} loss {loss.item():.4f}")
    return model.eval()


class Judge:
    """Reads shape, colour, background, size and position off generated pictures."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model.eval()

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> list[dict[str, str]]:
        """``images`` uint8 N×64×64×3 → one dict of the five attributes per picture."""
        shapes = self.model(masks(images)).argmax(dim=1).tolist()
        out = []
        for image, shape in zip(images, shapes, strict=True):
            bg = background(image)
            distance = foreground(image, bg)
            core = distance > 0.8
            colour = nearest_colour(np.median(image[core].astype(np.float32), axis=0)) if core.any() else "none"
            size, position = size_and_position(distance > 0.5, SHAPES[shape])
            out.append({"shape": SHAPES[shape], "colour": colour, "background": nearest_colour(bg),
                        "size": size, "position": position})  # fmt: skip
        return out
