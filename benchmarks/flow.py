"""SD3 and Flux through the runner against the bare pipeline, in the same process.

    python benchmarks/flow.py [--steps 8] [--rounds 3] [--size 256] [--device cpu]

SD3- and Flux-shaped pipelines with random weights, built from configs (the layouts at a width a
CPU affords: joint and single transformer blocks, 16-channel latents, Flux's 2×2 packing and
T5 encoder). Each round times, alternately, the bare ``pipe(...)`` and ``Runner.generate`` with
the same arguments, both on the calling thread; the ratio is what a user feels. Cases: SD3 at
guidance 5 (CFG, one batched call a step); FLUX.1-dev's kind at distilled guidance 3.5 (the
runner always has the pipeline make its second call and answers it without computing); the
schnell kind at true CFG 4 (two calls a step, as bare).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel

from sdwidget import Runner
from sdwidget.testing import tokenizer

PROMPT, NEGATIVE = "a red star on a blue background", "blurry"


def vae(scaling: float, shift: float) -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(16, 32, 32, 32), latent_channels=16, norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        scaling_factor=scaling, shift_factor=shift, use_quant_conv=False, use_post_quant_conv=False,
    )  # fmt: skip


def clip(hidden: int, projection: bool) -> Any:
    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=hidden, intermediate_size=2 * hidden,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=256, max_position_embeddings=77,
        **({"projection_dim": hidden} if projection else {}),
    )  # fmt: skip
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def sd3() -> StableDiffusion3Pipeline:
    transformer = SD3Transformer2DModel(
        sample_size=32, patch_size=2, in_channels=16, num_layers=4, attention_head_dim=32, num_attention_heads=4,
        joint_attention_dim=128, caption_projection_dim=128, pooled_projection_dim=128, out_channels=16,
        pos_embed_max_size=64,
    )  # fmt: skip
    return StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), vae=vae(1.5305, 0.0609),
        text_encoder=clip(64, True), tokenizer=tokenizer(), text_encoder_2=clip(64, True), tokenizer_2=tokenizer(),
        text_encoder_3=None, tokenizer_3=None,
    )  # fmt: skip


def flux(guidance_embeds: bool) -> FluxPipeline:
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=2, num_single_layers=4, attention_head_dim=32,
        num_attention_heads=4, joint_attention_dim=64, pooled_projection_dim=64, guidance_embeds=guidance_embeds,
        axes_dims_rope=(8, 12, 12),
    )  # fmt: skip
    t5 = T5EncoderModel(T5Config(vocab_size=256, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15)
    return FluxPipeline(
        scheduler=scheduler, vae=vae(0.3611, 0.1159), text_encoder=clip(64, False), tokenizer=tokenizer(),
        text_encoder_2=t5, tokenizer_2=tokenizer(), transformer=transformer,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    common = {"num_inference_steps": args.steps, "height": args.size, "width": args.size}
    cases = {
        "sd3, CFG 5": (sd3(), {"negative_prompt": NEGATIVE, "guidance_scale": 5.0}),
        "flux-dev kind, distilled 3.5": (flux(True), {"guidance_scale": 3.5, "max_sequence_length": 64}),
        "flux-schnell kind, true CFG 4": (
            flux(False),
            {"negative_prompt": NEGATIVE, "guidance_scale": 4.0, "max_sequence_length": 64},
        ),
    }
    for name, (pipe, call) in cases.items():
        pipe.to(args.device).set_progress_bar_config(disable=True)
        # "runner": bare's thread count, so the ratio is the runner's own cost; "runner-default": the
        # runner's own choice (one thread for a model this small on the CPU), what a user gets.
        runners = {"runner": Runner(pipe, cpu_threads=torch.get_num_threads()), "runner-default": Runner(pipe)}
        bare_call = dict(call)
        if name.startswith("flux-schnell"):  # bare Flux calls it true_cfg_scale
            bare_call["true_cfg_scale"] = bare_call.pop("guidance_scale")
        times: dict[str, list[float]] = {"bare": [], "runner": [], "runner-default": []}
        # bare and runner alternate on the same thread count; runner-default (one thread) runs after
        # them, as a team resized between calls slows the next one down and would bias bare.
        order = [("bare", "runner")] * (args.rounds + 1) + [("runner-default",)] * (args.rounds + 1)
        for round_, modes in enumerate(order):
            for mode in modes:
                started = time.perf_counter()
                if mode == "bare":
                    pipe(PROMPT, **common, **bare_call, generator=torch.Generator("cpu").manual_seed(round_))
                else:
                    run = runners[mode].generate(PROMPT, **common, **call, seed=round_)
                    assert run.error is None, run.traceback
                if args.device == "cuda":
                    torch.cuda.synchronize()
                if round_ not in (0, args.rounds + 1):  # the first round of each phase warms up
                    times[mode].append(time.perf_counter() - started)
        ms = {mode: statistics.median(values) * 1000 / args.steps for mode, values in times.items()}
        print(f"{name}: " + ", ".join(f"{mode} {value:.1f} ms/step" for mode, value in ms.items()))
        print(f"{name}: ratio runner/bare {ms['runner'] / ms['bare']:.3f} (the runner's own cost), "
              f"runner-default/bare {ms['runner-default'] / ms['bare']:.3f} (what a user feels; "
              f"{args.device}, torch threads {torch.get_num_threads()})")  # fmt: skip


if __name__ == "__main__":
    main()
