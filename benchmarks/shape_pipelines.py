"""Pipelines with real models' denoisers and random weights, for ``shapes.py``.

The denoisers have their real widths, heads, latent and token counts: SD 1.5's UNet at 512²,
SDXL's at 1024², SD3 medium's and FLUX.1-dev's transformers at 1024² (333 and 512 text tokens);
``layers`` keeps at most that many of each repeated layer (UNet resnets per block, transformer
depth, joint and single blocks). The VAE and text encoders are narrow, since they run once a
call, not once a step, with the output widths the denoiser reads. ``tiny`` narrows the
denoisers too, to a width CI affords (the layouts stay).
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import FlowMatchEulerDiscreteScheduler as FlowMatch
from diffusers import (
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from flow import clip
from flow import vae as vae16
from pipelines import text_encoder, unet_config, vae
from transformers import T5Config, T5EncoderModel

from sdwidget.testing import make_scheduler, tokenizer

MODELS = ("sd", "sdxl", "sd3", "flux")
LATENT = {"sd": (4, 0.18215, 0.0), "sdxl": (4, 0.13025, 0.0), "sd3": (16, 1.5305, 0.0609), "flux": (16, 0.3611, 0.1159)}
"""Latent channels, scaling and shift of each model's VAE: its published preview map and its loop's scaling."""
CALL = {"sd": {"guidance_scale": 7.5}, "sdxl": {"guidance_scale": 5.0}, "sd3": {"guidance_scale": 5.0},
        "flux": {"guidance_scale": 3.5, "max_sequence_length": 512}}  # fmt: skip


def cap(value: Any, layers: int | None) -> Any:
    """``value`` (a count or a tuple of counts) with each count at most ``layers``."""
    if layers is None:
        return value
    return tuple(min(v, layers) for v in value) if isinstance(value, tuple) else min(value, layers)


def denoiser(model: str, tiny: bool, layers: int | None) -> torch.nn.Module:
    """The model's UNet or transformer at its real config (narrow at ``tiny``), layers capped."""
    if model in ("sd", "sdxl"):
        config = unet_config(model, not tiny)
        config["layers_per_block"] = cap(config["layers_per_block"], layers)
        if model == "sdxl":
            config["transformer_layers_per_block"] = cap(config["transformer_layers_per_block"], layers)
        return UNet2DConditionModel(**config)
    heads, head_dim, text = (2, 32, 64) if tiny else (24, 64 if model == "sd3" else 128, 4096)
    if model == "sd3":  # SD3 medium: 24 joint blocks, 1536 wide
        return SD3Transformer2DModel(
            sample_size=128, patch_size=2, in_channels=16, num_layers=cap(24, layers), attention_head_dim=head_dim,
            num_attention_heads=heads, joint_attention_dim=text, caption_projection_dim=heads * head_dim,
            pooled_projection_dim=64 if tiny else 2048, out_channels=16, pos_embed_max_size=192,
        )  # fmt: skip
    return FluxTransformer2DModel(  # FLUX.1-dev: 19 joint and 38 single blocks, 3072 wide
        patch_size=1, in_channels=64, num_layers=cap(19, layers), num_single_layers=cap(38, layers),
        attention_head_dim=head_dim, num_attention_heads=heads, joint_attention_dim=text,
        pooled_projection_dim=64 if tiny else 768, guidance_embeds=True,
        axes_dims_rope=(8, 12, 12) if tiny else (16, 56, 56),
    )  # fmt: skip


def build(model: str, tiny: bool, layers: int | None, device: str, dtype: torch.dtype) -> Any:
    """The pipeline around ``denoiser``: narrow encoders and VAE of the widths it reads."""
    torch.manual_seed(0)
    net, words = denoiser(model, tiny, layers), tokenizer()
    if model == "sd":
        pipe: Any = StableDiffusionPipeline(
            vae=vae(False), text_encoder=text_encoder(128 if tiny else 768, False), tokenizer=words, unet=net,
            scheduler=make_scheduler("euler"), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False,
        )  # fmt: skip
    elif model == "sdxl":
        first, second = (64, 128) if tiny else (768, 1280)
        pipe = StableDiffusionXLPipeline(
            vae=vae(False), text_encoder=text_encoder(first, False), tokenizer=words, unet=net, tokenizer_2=words,
            text_encoder_2=text_encoder(second, False, projection=True), scheduler=make_scheduler("euler"),
            image_encoder=None, feature_extractor=None, add_watermarker=False,
        )  # fmt: skip
    elif model == "sd3":  # CLIP-L and -G side by side (2048), T5 left out: the pipeline pads with zeros
        first, second = (32, 32) if tiny else (768, 1280)
        pipe = StableDiffusion3Pipeline(
            transformer=net, scheduler=FlowMatch(shift=3.0), vae=vae16(*LATENT[model][1:]),
            text_encoder=clip(first, True), tokenizer=words, text_encoder_2=clip(second, True), tokenizer_2=words,
            text_encoder_3=None, tokenizer_3=None,
        )  # fmt: skip
    else:
        width = 64 if tiny else 4096  # one narrow T5 layer of the width the transformer reads
        t5 = T5EncoderModel(T5Config(vocab_size=256, d_model=width, d_kv=64, d_ff=256, num_layers=1, num_heads=8))
        pipe = FluxPipeline(
            scheduler=FlowMatch(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15),
            vae=vae16(*LATENT[model][1:]), text_encoder=clip(64 if tiny else 768, False), tokenizer=words,
            text_encoder_2=t5.eval(), tokenizer_2=words, transformer=net,
        )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device, dtype)
