"""The embedded demo model: a small Stable-Diffusion pipeline trained here on drawn shapes."""

from __future__ import annotations

import json
from pathlib import Path

import torch

MODEL_DIR = Path(__file__).with_name("model")
JUDGE_PATH = Path(__file__).with_name("judge.safetensors")


def demo_pipeline(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, path: Path = MODEL_DIR):
    """The shipped ``StableDiffusionPipeline`` (64×64, offline), with its fitted preview map registered."""
    from diffusers import StableDiffusionPipeline

    from .._calibrate import register_fit

    if not (Path(path) / "model_index.json").exists():
        raise FileNotFoundError(f"no demo model in {path}; train it with `python -m sdwidget.demo.train`")
    pipe = StableDiffusionPipeline.from_pretrained(path, torch_dtype=dtype, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    maps = json.loads((Path(path) / "preview_map.json").read_text())
    register_fit(pipe.vae, torch.tensor(maps["xtx"]), torch.tensor(maps["xty"]))
    return pipe.to(device)
