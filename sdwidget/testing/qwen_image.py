"""A tiny Qwen-Image pipeline: a Qwen2.5-VL text encoder of two layers, a byte-level BPE tokenizer
with no merges (one token a byte, as Qwen2's tokenizer falls back to), and Qwen-Image's
video-style VAE with the real model's 16 latent channels and their mean and spread, so previews
take the published map and decodes the same path as on the real VAE."""

from __future__ import annotations

from typing import Any

import torch

HIDDEN = 32  # the text encoder's width, the transformer's joint_attention_dim


def qwen_tokenizer() -> Any:
    """A ``Qwen2Tokenizer`` built in memory: every byte a token, and Qwen's chat-template markers."""
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        vocab[special] = len(vocab)
    return Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None, bos_token=None, eos_token="<|im_end|>",
                          pad_token="<|endoftext|>")  # fmt: skip


def qwen_vl_encoder(hidden: int = HIDDEN) -> Any:
    """A two-layer ``Qwen2_5_VLForConditionalGeneration`` (its vision tower as small), in eval mode."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    text = {"hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 2, "vocab_size": 260, "max_position_embeddings": 1024, "rope_theta": 1e6,
            "rope_scaling": {"mrope_section": [2, 3, 3], "rope_type": "default", "type": "default"},
            "bos_token_id": 256, "eos_token_id": 258, "pad_token_id": 256}  # fmt: skip
    vision = {"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": hidden}
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, vocab_size=260, hidden_size=hidden,
                              bos_token_id=256, eos_token_id=258)  # fmt: skip
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def tiny_qwen_image_pipeline(seed: int = 0) -> Any:
    """A ``QwenImagePipeline`` with random weights, 32×32 by default (a 4×4 grid of packed tokens)."""
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )

    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=64, out_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=2,
        joint_attention_dim=HIDDEN, axes_dims_rope=(2, 2, 4),
    )  # fmt: skip
    # Its latents_mean/latents_std stay AutoencoderKLQwenImage's defaults: Qwen-Image's (Wan 2.1's).
    vae = AutoencoderKLQwenImage(base_dim=16, z_dim=16, dim_mult=[1, 2, 4], num_res_blocks=1,
                                 temperal_downsample=[False, True])  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=1.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=0.9, base_image_seq_len=256,
        max_image_seq_len=8192, shift_terminal=0.02, time_shift_type="exponential",
    )  # fmt: skip
    pipe = QwenImagePipeline(scheduler=scheduler, vae=vae.eval(), text_encoder=qwen_vl_encoder(),
                             tokenizer=qwen_tokenizer(), transformer=transformer)  # fmt: skip
    pipe.default_sample_size = 8  # Qwen-Image's own is 128 latent pixels (1024 px), too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
