"""How well the demo model follows its prompts, judged against the scenes the prompts describe."""

from __future__ import annotations

import random

import numpy as np
import torch

from .judge import Judge, classifier
from .shapes import Scene, held_out, random_scene

ATTRIBUTES = ("background", "colour", "shape", "size", "position")


def load_judge(path) -> Judge:
    from safetensors.torch import load_file

    model = classifier()
    model.load_state_dict(load_file(str(path)))
    return Judge(model)


def eval_scenes(count: int = 50, seed: int = 1234) -> list[Scene]:
    """Scenes drawn with a fixed seed from the whole attribute space, held-out combinations included."""
    rng = random.Random(seed)
    return [random_scene(rng) for _ in range(count)]


@torch.no_grad()
def generate(pipe, prompts: list[str], guidance: float, steps: int = 20, seed: int = 0) -> np.ndarray:
    """One 64×64 image per prompt, as uint8 N×64×64×3, in a single batch."""
    out = pipe(prompts, num_inference_steps=steps, guidance_scale=guidance, height=64, width=64,
               generator=torch.Generator("cpu").manual_seed(seed), output_type="np")  # fmt: skip
    return (out.images * 255).round().astype(np.uint8)


def score(judge: Judge, images: np.ndarray, scenes: list[Scene]) -> dict[str, float]:
    """Share of images whose background, shape colour, shape, size and position match their scene;
    also for the combinations never seen in training (``held_out_*``)."""
    verdicts = judge(images)
    result = {}
    unseen = [i for i, scene in enumerate(scenes) if held_out(scene)]
    for name in ATTRIBUTES:
        right = [verdict[name] == getattr(scene, name) for verdict, scene in zip(verdicts, scenes, strict=True)]
        result[name] = float(np.mean(right))
        if unseen:
            result[f"held_out_{name}"] = float(np.mean([right[i] for i in unseen]))
    result["held_out_count"] = len(unseen)
    return result


def evaluate(pipe, judge: Judge, guidance: float, count: int = 50, seed: int = 1234) -> dict[str, float]:
    scenes = eval_scenes(count, seed)
    return score(judge, generate(pipe, [s.prompt() for s in scenes], guidance), scenes)
