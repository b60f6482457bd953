"""A tiny IP-Adapter with random weights, built offline and loaded through diffusers' own loader.

The image encoder is a CLIP vision model built from a config and its processor sized to it; the
adapter's state dict has the layout of the released "plain" IP-Adapter checkpoints that
``load_ip_adapter`` reads (an ``image_proj`` linear + layer norm making 4 image tokens, and one
``to_k_ip``/``to_v_ip`` pair per cross-attention layer, numbered 1, 3, 5, ... in the UNet's
processor order), so the pipeline runs the same attention processors as with a real adapter.
"""

from __future__ import annotations

from typing import Any

import torch

TOKENS = 4  # image tokens of a plain IP-Adapter: the loader recognises it by its "proj.weight"
IMAGE_EMBED_DIM = 16  # the CLIP vision model's projection size


def ip_adapter_state_dict(unet: Any, generator: torch.Generator) -> dict[str, dict[str, torch.Tensor]]:
    """Random weights shaped for ``unet``; large enough that the image visibly steers the run."""
    config = unet.config
    cross = config.cross_attention_dim

    def normal(*shape: int, std: float = 0.3) -> torch.Tensor:
        return torch.randn(shape, generator=generator) * std

    attention: dict[str, torch.Tensor] = {}
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):  # self-attention: no image tokens
            continue
        if name.startswith("mid_block"):
            hidden = config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = config.block_out_channels[int(name[len("down_blocks.")])]
        attention[f"{key}.to_k_ip.weight"] = normal(hidden, cross)
        attention[f"{key}.to_v_ip.weight"] = normal(hidden, cross)
        key += 2
    projection = {
        "proj.weight": normal(TOKENS * cross, IMAGE_EMBED_DIM),
        "proj.bias": normal(TOKENS * cross),
        "norm.weight": 1 + normal(cross, std=0.1),
        "norm.bias": normal(cross, std=0.1),
    }
    return {"image_proj": projection, "ip_adapter": attention}


def add_ip_adapter(pipe: Any, adapters: int = 1, seed: int = 0) -> Any:
    """Give ``pipe`` (a tiny SD or SDXL pipeline) an image encoder and ``adapters`` IP-Adapters."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2, image_size=32,
            patch_size=8, projection_dim=IMAGE_EMBED_DIM,
        )
    )  # fmt: skip
    pipe.register_modules(image_encoder=encoder, feature_extractor=CLIPImageProcessor(size=32, crop_size=32))
    generator = torch.Generator().manual_seed(seed)
    weights = [ip_adapter_state_dict(pipe.unet, generator) for _ in range(adapters)]
    pipe.load_ip_adapter(
        weights, subfolder=[""] * adapters, weight_name=[""] * adapters, image_encoder_folder=None,
        low_cpu_mem_usage=False,
    )  # fmt: skip
    return pipe
