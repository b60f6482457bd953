"""SD 1.5- and SDXL-shaped pipelines with random weights, built from configs (no download), and
the ways a user runs one, bare or through a ``Runner``.

The cost of a step depends on the shapes, not on what the weights are, so a benchmark can time a
real model's arithmetic offline. ``full=True`` gives the real sizes (SD 1.5: 860 M UNet
parameters, one 12-layer text encoder; SDXL: 2.6 B UNet parameters with (1, 2, 10) transformer
layers per block, ``text_time`` conditioning, two text encoders); ``full=False`` keeps each
layout (block types, layers, transformer depths, conditioning) at a width the CPU of CI affords.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from sdwidget import Runner
from sdwidget.testing import make_scheduler, tokenizer

MODELS = ("sd", "sdxl")
SIZES = {"sd": 512, "sdxl": 1024}
"""The image side each model was trained at (``full=True``)."""


def unet_config(model: str, full: bool) -> dict[str, Any]:
    """The UNet's constructor arguments: SD 1.5's or SDXL's ``unet/config.json`` at ``full``."""
    if model == "sd":
        return {
            "block_out_channels": (320, 640, 1280, 1280) if full else (32, 64, 128, 128),
            "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            "layers_per_block": 2, "attention_head_dim": 8, "cross_attention_dim": 768 if full else 128,
            "sample_size": 64,
        }  # fmt: skip
    # SDXL: heads of 64 channels (its config's "attention_head_dim" is a head count), the two
    # encoders' hidden states side by side for cross-attention, and "text_time" conditioning on
    # the pooled text embedding plus six size/crop numbers of addition_time_embed_dim each.
    time_dim, pooled = (256, 1280) if full else (32, 128)
    return {
        "block_out_channels": (320, 640, 1280) if full else (32, 64, 128),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "transformer_layers_per_block": (1, 2, 10), "layers_per_block": 2,
        "attention_head_dim": (5, 10, 20) if full else (1, 2, 4), "use_linear_projection": True,
        "cross_attention_dim": sum(text_widths("sdxl", full)), "addition_embed_type": "text_time",
        "addition_time_embed_dim": time_dim, "projection_class_embeddings_input_dim": 6 * time_dim + pooled,
        "sample_size": 128,
    }  # fmt: skip


def text_widths(model: str, full: bool) -> tuple[int, ...]:
    """Hidden width of each text encoder: CLIP ViT-L (and OpenCLIP ViT-bigG for SDXL)."""
    if model == "sd":
        return (768,) if full else (128,)
    return (768, 1280) if full else (64, 128)


def text_encoder(width: int, full: bool, projection: bool = False) -> torch.nn.Module:
    """CLIP ViT-L (768 wide, 12 layers) or ViT-bigG (1280 wide, 32 layers) at ``full``."""
    layers = {768: 12, 1280: 32}.get(width, 12) if full else 2
    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=width, intermediate_size=4 * width,
        num_attention_heads=width // 64 if full else 8, num_hidden_layers=layers,
        vocab_size=49408 if full else 256,  # CLIP's: the full encoders have their real size
        **({"projection_dim": width} if projection else {}),
    )  # fmt: skip
    return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def vae(full: bool) -> AutoencoderKL:
    """SD's VAE layout (SDXL's is the same), at 8× downsampling."""
    return AutoencoderKL(
        block_out_channels=(128, 256, 512, 512) if full else (32, 64, 64, 64), latent_channels=4,
        norm_num_groups=32, down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )  # fmt: skip


def build(model: str, full: bool, device: str, dtype: torch.dtype) -> Any:
    """The pipeline of ``model`` (one of ``MODELS``), seeded, progress bar off, on ``device``."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**unet_config(model, full))
    shared = {"vae": vae(full), "tokenizer": tokenizer(), "unet": unet, "scheduler": make_scheduler("euler")}
    if model == "sd":
        pipe: Any = StableDiffusionPipeline(
            text_encoder=text_encoder(text_widths(model, full)[0], full), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False, **shared,
        )  # fmt: skip
    else:
        first, second = text_widths(model, full)
        pipe = StableDiffusionXLPipeline(
            text_encoder=text_encoder(first, full), text_encoder_2=text_encoder(second, full, projection=True),
            tokenizer_2=tokenizer(), image_encoder=None, feature_extractor=None, add_watermarker=False, **shared,
        )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device, dtype)


def ways(pipe: Any, runner: Runner, prompt: str, call: dict[str, Any]) -> dict[str, Callable[[], None]]:
    """One run of ``call`` (seed 0) each way: the bare pipeline from this thread and from a new
    one, and the runner's ``generate()`` (this thread), ``start()`` (a thread of its own) and
    "widget" (``start()`` under ``on_kernel()``, hosted on an asyncio loop on this thread)."""

    def bare() -> None:
        pipe(prompt, generator=torch.Generator().manual_seed(0), **call)

    def bare_in_thread() -> None:
        thread = threading.Thread(target=bare)
        thread.start()
        thread.join()

    def generate() -> None:
        run = runner.generate(prompt, seed=0, **call)
        assert run.status.value == "finished", run.traceback

    def start() -> None:
        run = runner.start(prompt, seed=0, **call)
        run.wait()
        assert run.status.value == "finished", run.traceback

    async def on_loop() -> None:
        with runner.on_kernel():
            run = runner.start(prompt, seed=0, **call)
        while not run.done:  # the loop turns between steps, as a kernel's handles messages
            await asyncio.sleep(0)
        assert run.status.value == "finished", run.traceback

    def widget() -> None:
        asyncio.run(on_loop())

    return {"bare": bare, "bare-thread": bare_in_thread, "generate": generate, "start": start, "widget": widget}
