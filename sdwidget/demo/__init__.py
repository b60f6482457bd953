"""The embedded demo model: a small Stable-Diffusion pipeline trained here on drawn shapes."""

from __future__ import annotations

from pathlib import Path

import torch

MODEL_DIR = Path(__file__).with_name("model")
JUDGE_PATH = Path(__file__).with_name("judge.safetensors")
PREVIEW_FILE = "preview_decoder.safetensors"  # in the model folder, beside model_index.json


def demo_pipeline(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, path: Path = MODEL_DIR):
    """The shipped ``StableDiffusionPipeline`` (64×64, offline), with its preview decoder registered."""
    from safetensors.torch import load_file

    from .._calibrate import register_net
    from ._models import preview_decoder
    from ._quiet import quiet_loading

    if not (Path(path) / "model_index.json").exists():
        raise FileNotFoundError(f"no demo model in {path}; train it with `python -m sdwidget.demo.train`")
    with quiet_loading():
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_pretrained(path, dtype=dtype, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    net = preview_decoder()
    net.load_state_dict(load_file(str(Path(path) / PREVIEW_FILE)))
    register_net(pipe.vae, net)
    return pipe.to(device)
