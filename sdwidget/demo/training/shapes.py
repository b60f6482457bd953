"""The demo model's world: one shape on a plain background, drawn at 64×64 from its attributes.

Every picture comes from a :class:`Scene`, and every prompt is written from one, so a test can
judge a generated image against the scene its prompt describes.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
_SUPER = 4  # drawn 4× larger, then box-filtered: anti-aliased edges like a real image

COLOURS = {
    "red": (220, 20, 40), "green": (30, 160, 50), "blue": (30, 70, 220), "yellow": (250, 230, 40),
    "orange": (255, 140, 0), "purple": (120, 40, 180), "white": (245, 245, 245), "black": (15, 15, 15),
}  # fmt: skip
SHAPES = ("circle", "square", "triangle", "ring", "cross", "star")
SIZES = {"small": 8.0, "medium": 12.0, "large": 20.0}  # radius in pixels
POSITIONS = {
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0), "left": (0, 1), "center": (1, 1),
    "right": (2, 1), "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}  # fmt: skip
_PLACE = {"top": "at the top", "bottom": "at the bottom", "left": "on the left", "right": "on the right"}


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    background: str
    size: str = "medium"
    position: str = "center"

    def prompt(self, say_size: bool = True, say_position: bool = True) -> str:
        """``a small yellow circle at the top left on a black background``; medium and center go unsaid."""
        words = ["a"]
        if say_size and self.size != "medium":
            words.append(self.size)
        words += [self.colour, self.shape]
        if say_position and self.position != "center":
            words.append(_PLACE.get(self.position, f"at the {self.position}"))
        words += ["on", "a", self.background, "background"]
        return re.sub(r"\ba (?=[aeiou])", "an ", " ".join(words))


def random_scene(rng: random.Random) -> Scene:
    colour, background = rng.sample(sorted(COLOURS), 2)
    size = rng.choice(("small", "medium", "medium", "large"))
    position = "center" if rng.random() < 0.4 else rng.choice(sorted(POSITIONS))
    return Scene(rng.choice(SHAPES), colour, background, size, position)


def _polygon(points: int, cx: float, cy: float, r: float, angle: float, inner: float = 1.0) -> list:
    out = []
    for i in range(points * (2 if inner < 1 else 1)):
        radius = r if i % 2 == 0 or inner == 1 else r * inner
        a = angle + math.pi * 2 * i / (points * (2 if inner < 1 else 1)) - math.pi / 2
        out.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return out


def draw(scene: Scene, rng: random.Random | None = None) -> Image.Image:
    """The scene as a 64×64 RGB image; ``rng`` adds small jitter of place, size and angle."""
    jitter = (lambda a: rng.uniform(-a, a)) if rng else (lambda a: 0.0)
    s = _SUPER
    r = SIZES[scene.size] * (1 + jitter(0.12))
    col, row = POSITIONS[scene.position]
    margin = r + 3
    cx = min(max(margin + col * (SIZE - 2 * margin) / 2 + jitter(2.5), margin), SIZE - margin) * s
    cy = min(max(margin + row * (SIZE - 2 * margin) / 2 + jitter(2.5), margin), SIZE - margin) * s
    r, angle = r * s, jitter(0.2)
    image = Image.new("RGB", (SIZE * s, SIZE * s), COLOURS[scene.background])
    pen, fill = ImageDraw.Draw(image), COLOURS[scene.colour]
    if scene.shape == "circle":
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif scene.shape == "ring":
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        hole = r * 0.55
        pen.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=COLOURS[scene.background])
    elif scene.shape == "square":
        pen.polygon(_polygon(4, cx, cy, r * 1.2, angle + math.pi / 4), fill=fill)
    elif scene.shape == "triangle":
        pen.polygon(_polygon(3, cx, cy + r * 0.2, r * 1.2, angle), fill=fill)
    elif scene.shape == "star":
        pen.polygon(_polygon(5, cx, cy + r * 0.1, r * 1.15, angle, inner=0.45), fill=fill)
    elif scene.shape == "cross":
        w = r * 0.36
        pen.rectangle((cx - w, cy - r, cx + w, cy + r), fill=fill)
        pen.rectangle((cx - r, cy - w, cx + r, cy + w), fill=fill)
    else:
        raise ValueError(f"unknown shape {scene.shape!r}; known: {', '.join(SHAPES)}")
    return image.resize((SIZE, SIZE), Image.Resampling.BOX)


def batch(count: int, seed: int) -> tuple[np.ndarray, list[Scene], list[str]]:
    """``count`` jittered drawings (uint8, N×64×64×3), their scenes and prompts that sometimes omit size/place."""
    rng = random.Random(seed)
    scenes = [random_scene(rng) for _ in range(count)]
    images = np.stack([np.asarray(draw(scene, rng)) for scene in scenes])
    prompts = [s.prompt(rng.random() < 0.9 or s.size == "medium", rng.random() < 0.9) for s in scenes]
    return images, scenes, prompts


def held_out(scene: Scene) -> bool:
    """About one (shape, colour, background) combination in eleven never appears in training."""
    index = SHAPES.index(scene.shape) * 64 + sorted(COLOURS).index(scene.colour) * 8
    return (index + sorted(COLOURS).index(scene.background)) % 11 == 0
