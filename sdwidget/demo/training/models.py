"""Architectures of the demo pipeline: a word-level CLIP tokenizer, small CLIP, VAE (×4) and UNet."""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path

from .shapes import COLOURS, SHAPES, SIZES

VOCAB = 384
MAX_TOKENS = 20  # the longest prompt is 15 words; a short context keeps cross-attention cheap
WORDS = (
    *sorted(COLOURS), *SHAPES, *SIZES, "a", "an", "the", "on", "at", "in", "of", "with",
    "background", "top", "bottom", "left", "right", "center", "centre", "middle", "big", "tiny",
)  # fmt: skip


def _merges() -> list[tuple[str, str]]:
    """Byte-pair merges learnt greedily on ``WORDS`` until each is one token; replaying them in
    order reproduces that segmentation, so every known word becomes a single token."""
    words = [[*w[:-1], w[-1] + "</w>"] for w in WORDS]
    merges = []
    while any(len(w) > 1 for w in words):
        pairs = Counter(p for w in words for p in zip(w, w[1:], strict=False))
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if (w[i], w[i + 1]) == best:
                    w[i : i + 2] = [w[i] + w[i + 1]]
                i += 1
    return merges


def write_tokenizer(folder: Path) -> None:
    """A CLIP BPE tokenizer whose known words are single tokens; other words fall back to letters."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in [*string.ascii_lowercase, *string.digits, *".,!?'-"]:
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    merges = _merges()
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    assert len(vocab) <= VOCAB, len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, indent=0))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    config = {"model_max_length": MAX_TOKENS, "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=96, intermediate_size=192,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=VOCAB, max_position_embeddings=MAX_TOKENS,
    )  # fmt: skip
    return CLIPTextModel(config)


def vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 48, 64),
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        layers_per_block=1, norm_num_groups=8, sample_size=64, mid_block_add_attention=False,
    )  # fmt: skip


def unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64, 128), norm_num_groups=32, cross_attention_dim=96, attention_head_dim=8,
        # Attention only at 8×8 and 4×4: at 16×16 it would triple the cost of a training step.
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    )  # fmt: skip


def scheduler_config() -> dict:
    """SD 1.x's training noise schedule, sampled with Euler by default."""
    return {
        "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "steps_offset": 1, "prediction_type": "epsilon",
    }  # fmt: skip
