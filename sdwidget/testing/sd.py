"""Tiny Stable Diffusion 1.x and SDXL pipelines, their tokenizer and schedulers."""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path
from typing import Any

import torch


def write_tokenizer(folder: str | Path) -> Path:
    """Write a character-level CLIP tokenizer into ``folder`` and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*string.ascii_lowercase, *string.digits, *".,!?'-"]:
        vocab.setdefault(token, len(vocab))
        vocab.setdefault(token + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    config = {"model_max_length": 77, "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def tokenizer() -> Any:
    """The character-level CLIP tokenizer the tiny pipelines use."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        return CLIPTokenizer.from_pretrained(write_tokenizer(tmp), local_files_only=True)


def _text_config(hidden: int, projection: int | None = None) -> Any:
    from transformers import CLIPTextConfig

    extra = {"projection_dim": projection} if projection else {}
    return CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=hidden,
        intermediate_size=2 * hidden, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=256, max_position_embeddings=77, **extra,
    )  # fmt: skip


def _vae() -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=4, sample_size=32,
    )  # fmt: skip


_UNET = {
    "block_out_channels": (16, 32), "layers_per_block": 1, "sample_size": 16, "in_channels": 4,
    "out_channels": 4, "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"), "attention_head_dim": 4, "norm_num_groups": 8,
}  # fmt: skip


SD_KINDS = ("text2img", "img2img", "inpaint", "inpaint4", "controlnet", "multi-controlnet")


def tiny_sd_pipeline(seed: int = 0, scheduler: str = "euler", kind: str = "text2img") -> Any:
    """A Stable Diffusion pipeline with random weights, about 0.3 M parameters, on the CPU: ``kind``
    is one of ``SD_KINDS`` (``inpaint`` has a 9-channel UNet, ``inpaint4`` a 4-channel one;
    ``multi-controlnet`` two ControlNets)."""
    import diffusers
    from diffusers import ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**{**_UNET, "in_channels": 9 if kind == "inpaint" else 4}, cross_attention_dim=32)
    extra: dict[str, Any] = {}
    if kind.endswith("controlnet"):
        count = 2 if kind.startswith("multi") else 1
        nets = [ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16)) for _ in range(count)]
        for param in (param for net in nets for param in net.parameters() if not param.any()):
            torch.nn.init.normal_(param, std=0.05)  # ControlNets start at zero: the control would show nowhere
        extra["controlnet"] = nets if len(nets) > 1 else nets[0]
    kinds = {"text2img": "", "img2img": "Img2Img", "inpaint": "Inpaint", "inpaint4": "Inpaint"}
    name = "StableDiffusionControlNetPipeline" if "controlnet" in extra else f"StableDiffusion{kinds[kind]}Pipeline"
    pipe = getattr(diffusers, name)(
        vae=_vae(), text_encoder=CLIPTextModel(_text_config(32)), tokenizer=tokenizer(),
        unet=unet, scheduler=make_scheduler(scheduler), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False, **extra,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_sdxl_pipeline(seed: int = 0, scheduler: str = "euler") -> Any:
    """A ``StableDiffusionXLPipeline`` with random weights and two text encoders, on the CPU."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        **_UNET, use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64,
    )  # fmt: skip
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=CLIPTextModel(_text_config(32)), tokenizer=tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(32, projection=32)),
        tokenizer_2=tokenizer(), unet=unet, scheduler=make_scheduler(scheduler),
        image_encoder=None, feature_extractor=None,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def make_scheduler(name: str) -> Any:
    """One of diffusers' schedulers with SD 1.x's noise schedule: ``euler``, ``euler-a`` (ancestral:
    draws noise every step), ``ddim``, ``dpm`` (DPM++ 2M) or ``dpm-karras`` (DPM++ 2M Karras)."""
    import diffusers

    config = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1}
    kinds = {
        "euler": ("EulerDiscreteScheduler", {}),
        "euler-a": ("EulerAncestralDiscreteScheduler", {}),
        "ddim": ("DDIMScheduler", {}),
        "dpm": ("DPMSolverMultistepScheduler", {}),
        "dpm-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    }
    kind, extra = kinds[name]
    return getattr(diffusers, kind)(**config, **extra)
