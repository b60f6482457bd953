"""The embedded demo model: a small Stable-Diffusion pipeline trained here on drawn shapes.

Its folder ships a preview decoder (``preview_decoder.safetensors``) that ``auto_preview`` finds.
The code that trained it (and the judge the tests score it with) is ``sdwidget.demo.training``,
which ``import sdwidget`` never imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

MODEL_DIR = Path(__file__).with_name("model")


def demo_pipeline(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, path: Path = MODEL_DIR
) -> Any:
    """The shipped ``StableDiffusionPipeline`` (64×64, offline, about 10 MB)."""
    from ._quiet import quiet_loading

    if not (Path(path) / "model_index.json").exists():
        raise FileNotFoundError(f"no demo model in {path}; train it with `python -m sdwidget.demo.training`")
    with quiet_loading():
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_pretrained(path, dtype=dtype, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


__all__ = ["MODEL_DIR", "demo_pipeline"]
