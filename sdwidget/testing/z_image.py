"""A tiny Z-Image pipeline: a two-layer Qwen3 text encoder, the byte-level tokenizer of the tiny
Qwen-Image pipeline given a chat template (Z-Image wraps each prompt in one), Flux.1's VAE (Z-Image
uses it) with its scaling and shift, so previews take Flux's published map."""

from __future__ import annotations

from typing import Any

import torch

from .flow import _vae16
from .qwen_image import qwen_tokenizer

HIDDEN = 32  # the text encoder's width, the transformer's cap_feat_dim
# Qwen's chat format, the markers the real template writes; ``content`` a string or a list of
# text parts (Mistral's and Flux.2's format), and ``enable_thinking`` accepted and unused.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for part in m['content'] %}{{ part['text'] }}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def chat_tokenizer() -> Any:
    """The tiny byte-level ``Qwen2Tokenizer`` with a chat template, built in memory."""
    tokenizer = qwen_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def qwen3_encoder(hidden: int = HIDDEN, layers: int = 2) -> Any:
    """A ``Qwen3Model`` of ``layers`` layers, in eval mode, reading the tiny tokenizer's 260 tokens."""
    from transformers import Qwen3Config, Qwen3Model

    config = Qwen3Config(
        vocab_size=260, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=2, num_key_value_heads=2, head_dim=16, max_position_embeddings=1024,
        pad_token_id=256,
    )  # fmt: skip
    return Qwen3Model(config).eval()


def tiny_z_image_pipeline(seed: int = 0) -> Any:
    """A ``ZImagePipeline`` with random weights, 32×32 by default (16 latent channels, 4×4 patches of 2×2)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel

    torch.manual_seed(seed)
    transformer = ZImageTransformer2DModel(
        in_channels=16, dim=32, n_layers=1, n_refiner_layers=1, n_heads=2, n_kv_heads=2, cap_feat_dim=HIDDEN,
        axes_dims=[4, 6, 6], axes_lens=[256, 32, 32],
    )  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    pipe = ZImagePipeline(scheduler=scheduler, vae=_vae16(0.3611, 0.1159), text_encoder=qwen3_encoder(),
                          tokenizer=chat_tokenizer(), transformer=transformer)  # fmt: skip
    pipe.default_sample_size = 16  # Z-Image's own is 1024 px, too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
