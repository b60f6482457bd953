"""A tiny Chroma pipeline: Flux's packed 16-channel latents and VAE, one T5 encoder, true CFG."""

from __future__ import annotations

from typing import Any

import torch

from .flow import _vae16
from .sd import tokenizer


def tiny_chroma_pipeline(seed: int = 0) -> Any:
    """A ``ChromaPipeline`` with random weights, 32×32 by default. Its T5 encoder reads the tiny
    pipelines' character-level tokenizer, so prompts of different lengths get different attention
    masks, as Chroma's real ones do (its transformer masks all but the first padding token)."""
    from diffusers import ChromaPipeline, ChromaTransformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = ChromaTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=32, axes_dims_rope=(2, 2, 4), approximator_num_channels=8,
        approximator_hidden_dim=32, approximator_layers=1,
    )  # fmt: skip
    t5 = T5EncoderModel(
        T5Config(vocab_size=256, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4, pad_token_id=1,
                 eos_token_id=1, decoder_start_token_id=0)
    ).eval()  # built in training mode: its dropout would make every encoding differ  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
        max_image_seq_len=4096,
    )  # fmt: skip
    pipe = ChromaPipeline(
        scheduler=scheduler, vae=_vae16(0.3611, 0.1159), text_encoder=t5, tokenizer=tokenizer(),
        transformer=transformer,
    )  # fmt: skip
    pipe.default_sample_size = 16  # Chroma's own is 128 latent pixels (1024 px), too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
