"""A tiny FLUX.2 [klein] pipeline: a Qwen3 text encoder as deep as the real one's read layers
(9, 18 and 27) but 16 wide, the byte-level chat tokenizer of the tiny Z-Image pipeline, and
Flux.2's VAE (``AutoencoderKLFlux2``) with batch-norm statistics drawn at random, so previews,
kept latents and decodes go through its normalisation and 2×2 patches as on the real model."""

from __future__ import annotations

from typing import Any

import torch

from .z_image import chat_tokenizer, qwen3_encoder

HIDDEN = 16  # the text encoder's width; the transformer reads three of its layers stacked


def flux2_vae() -> Any:
    """An ``AutoencoderKLFlux2`` of two blocks (2× down), 8 latent channels (32 packed per token)."""
    from diffusers import AutoencoderKLFlux2

    vae = AutoencoderKLFlux2(
        block_out_channels=(8, 16), latent_channels=8, layers_per_block=1, norm_num_groups=4, sample_size=32,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    )  # fmt: skip
    vae.bn.running_mean.normal_(0, 0.5)
    vae.bn.running_var.uniform_(0.5, 2.0)
    return vae.eval()


def tiny_flux2_klein_pipeline(seed: int = 0, is_distilled: bool = False) -> Any:
    """A ``Flux2KleinPipeline`` with random weights, 32×32 by default (an 8×8 grid of tokens);
    ``is_distilled`` as the step-distilled [klein] models, which run no guidance."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline, Flux2Transformer2DModel

    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=32, num_layers=1, num_single_layers=1, attention_head_dim=8, num_attention_heads=2,
        joint_attention_dim=3 * HIDDEN, timestep_guidance_channels=16, axes_dims_rope=(2, 2, 2, 2),
        guidance_embeds=False,
    )  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, time_shift_type="exponential")
    pipe = Flux2KleinPipeline(
        scheduler=scheduler, vae=flux2_vae(), text_encoder=qwen3_encoder(HIDDEN, layers=27), tokenizer=chat_tokenizer(),
        transformer=transformer, is_distilled=is_distilled,
    )  # fmt: skip
    pipe.default_sample_size = 16  # FLUX.2's own is 128 latent pixels (1024 px), too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
