"""Tiny flow-matching pipelines: Stable Diffusion 3 and Flux, with 16-channel latents as theirs are.

Both use the tiny pipelines' character-level CLIP tokenizer; SD3 runs without its T5 encoder (the
pipeline then feeds zeros in its place, as it does for users who drop it to save memory) and
Flux's T5 encoder reads the same tokenizer. The VAE has the real models' 16 latent channels and
a shift factor, so previews and decodes take the same paths as they do on SD3's and Flux's VAEs.
"""

from __future__ import annotations

from typing import Any

import torch

from .sd import _text_config, tokenizer


def _vae16(scaling: float, shift: float) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=16,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=4, sample_size=32, scaling_factor=scaling, shift_factor=shift, use_quant_conv=False,
        use_post_quant_conv=False,
    )  # fmt: skip


def tiny_sd3_pipeline(seed: int = 0, shift: float = 3.0) -> Any:
    """A ``StableDiffusion3Pipeline`` with random weights (two CLIP encoders, no T5), 32×32 by default."""
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=16, patch_size=2, in_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=4,
        joint_attention_dim=64, caption_projection_dim=32, pooled_projection_dim=64, out_channels=16,
        pos_embed_max_size=16,
    )  # fmt: skip
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=shift),
        vae=_vae16(1.5305, 0.0609), text_encoder=CLIPTextModelWithProjection(_text_config(32, projection=32)),
        tokenizer=tokenizer(), text_encoder_2=CLIPTextModelWithProjection(_text_config(32, projection=32)),
        tokenizer_2=tokenizer(), text_encoder_3=None, tokenizer_3=None,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_flux_pipeline(seed: int = 0, guidance_embeds: bool = True) -> Any:
    """A ``FluxPipeline`` with random weights, 32×32 by default; ``guidance_embeds`` as FLUX.1-dev
    (distilled guidance) or, without it, as FLUX.1-schnell, guided only by true CFG."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=guidance_embeds,
        axes_dims_rope=(2, 2, 4),
    )  # fmt: skip
    t5 = T5EncoderModel(
        T5Config(vocab_size=256, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4, pad_token_id=1,
                 eos_token_id=1, decoder_start_token_id=0)
    ).eval()  # built in training mode: its dropout would make every encoding differ  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
        max_image_seq_len=4096,
    )  # fmt: skip
    pipe = FluxPipeline(
        scheduler=scheduler, vae=_vae16(0.3611, 0.1159), text_encoder=CLIPTextModel(_text_config(32)),
        tokenizer=tokenizer(), text_encoder_2=t5, tokenizer_2=tokenizer(), transformer=transformer,
    )  # fmt: skip
    pipe.default_sample_size = 16  # Flux's own is 128 latent pixels (1024 px), too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
