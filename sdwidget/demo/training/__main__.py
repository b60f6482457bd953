"""Train the embedded demo model from scratch on the CPU: ``python -m sdwidget.demo.training``.

Stages, each checkpointed under ``--work`` so an interrupted run resumes where it stopped:
VAE → encode a fixed set of drawings → UNet with text encoder → shape classifier for the tests →
export (fp16 safetensors) into ``--out`` → preview decoder for live thumbnails, trained on the
exported pipeline's own sampling runs and written (fp32) into ``--out`` last.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import torch

from ...preview import DECODER_FILE, NetPreview
from .. import MODEL_DIR, demo_pipeline
from . import JUDGE_PATH, models
from .judge import train_classifier
from .train_preview import STEPS as PREVIEW_STEPS
from .train_preview import train_preview
from .train_unet import encode_dataset, train_unet
from .train_vae import train_vae


def export(out: Path, vae, parts, tokenizer) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=parts["text_encoder"], tokenizer=tokenizer, unet=parts["unet"],
        scheduler=EulerDiscreteScheduler(**models.scheduler_config()), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.to(torch.float16).save_pretrained(tmp, safe_serialization=True)
    # transformers records the dtype it saved in, and plain ``from_pretrained`` would then load the
    # text encoder in float16 beside a float32 UNet and VAE (which diffusers loads as float32).
    config = tmp / "text_encoder" / "config.json"
    config.write_text(config.read_text().replace('"dtype": "float16"', '"dtype": "float32"'))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sdwidget.demo.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--work", type=Path, default=Path("demo-train"), help="checkpoints and log")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="exported pipeline folder")
    parser.add_argument("--judge", type=Path, default=JUDGE_PATH, help="exported shape classifier")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-steps", type=int, default=1600)
    parser.add_argument("--drawings", type=int, default=48_000)
    parser.add_argument("--unet-steps", type=int, default=4000)
    parser.add_argument("--judge-steps", type=int, default=400)
    parser.add_argument("--preview-steps", type=int, default=PREVIEW_STEPS)
    args = parser.parse_args(argv)
    from safetensors.torch import save_file
    from transformers import CLIPTokenizer

    args.work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    log_file = (args.work / "train.log").open("a")

    def log(line: str) -> None:
        line = f"[{time.monotonic() - began:7.0f} s] {line}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    models.write_tokenizer(args.work / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(args.work / "tokenizer", local_files_only=True)
    vae = train_vae(args.work, args.seed, args.vae_steps, log)
    data = encode_dataset(args.work, vae, tokenizer, args.seed, args.drawings, log)
    parts = train_unet(args.work, data, tokenizer, args.seed, args.unet_steps, log)
    judge = train_classifier(args.judge_steps, args.seed, log)
    save_file(judge.state_dict(), str(args.judge))
    export(args.out, vae, parts, tokenizer)
    preview, errors = train_preview(demo_pipeline(path=args.out), args.work, args.seed, args.preview_steps, log)
    NetPreview(preview, error=float(errors.mean())).save(
        args.out / DECODER_FILE, steps=args.preview_steps, seed=args.seed, worst=f"{errors.max():.3f}"
    )
    log(f"done: {args.out} in {(time.monotonic() - began) / 60:.1f} min of this session")


if __name__ == "__main__":
    main()
