"""A tiny FLUX.2 [dev] pipeline: the text encoder's own class, ``Mistral3ForConditionalGeneration``,
as deep as the real one's read layers (10, 20 and 30) but 16 wide, with a one-layer vision tower
it never uses for text; the byte-level chat tokenizer of the tiny [klein] pipeline (the real
``PixtralProcessor`` needs torchvision, and the pipeline only asks its tokenizer for a chat
template); and [klein]'s tiny VAE, batch-norm statistics and 2×2 patches included."""

from __future__ import annotations

from typing import Any

import torch

from .flux2 import HIDDEN, flux2_vae
from .z_image import chat_tokenizer


def mistral3_encoder(hidden: int = HIDDEN, layers: int = 30) -> Any:
    """A ``Mistral3ForConditionalGeneration`` of ``layers`` text layers, in eval mode, reading the
    tiny tokenizer's 260 tokens."""
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, MistralConfig, PixtralVisionConfig

    text = MistralConfig(
        vocab_size=260, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=2, num_key_value_heads=2, head_dim=8, max_position_embeddings=1024, pad_token_id=256,
    )  # fmt: skip
    vision = PixtralVisionConfig(
        hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=1, num_attention_heads=2, head_dim=8,
        image_size=32, patch_size=16,
    )  # fmt: skip
    config = Mistral3Config(text_config=text, vision_config=vision, image_token_index=257)
    return Mistral3ForConditionalGeneration(config).eval()


def tiny_flux2_dev_pipeline(seed: int = 0, guidance_embeds: bool = True) -> Any:
    """A ``Flux2Pipeline`` with random weights, 32×32 by default (an 8×8 grid of tokens), its
    transformer with a guidance embedding unless ``guidance_embeds=False`` (no guidance at all)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2Pipeline, Flux2Transformer2DModel

    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=32, num_layers=1, num_single_layers=1, attention_head_dim=8, num_attention_heads=2,
        joint_attention_dim=3 * HIDDEN, timestep_guidance_channels=16, axes_dims_rope=(2, 2, 2, 2),
        guidance_embeds=guidance_embeds,
    )  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, time_shift_type="exponential")
    pipe = Flux2Pipeline(
        scheduler=scheduler, vae=flux2_vae(), text_encoder=mistral3_encoder(), tokenizer=chat_tokenizer(),
        transformer=transformer,
    )  # fmt: skip
    # Its system message, ~30 words, is ~170 tokens to a byte-level tokenizer: every prompt would be
    # cut off inside it at a short max_sequence_length, and all would encode alike.
    pipe.system_message = "Draw it."
    pipe.default_sample_size = 16  # FLUX.2's own is 128 latent pixels (1024 px), too big for a tiny model
    pipe.set_progress_bar_config(disable=True)
    return pipe
