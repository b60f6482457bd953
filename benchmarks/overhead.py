"""What the runner costs over the bare pipeline: same pipeline, same seed, alternated in one process.

    python benchmarks/overhead.py                      # CPU: SD 1.x layout at reduced width, 256×256
    python benchmarks/overhead.py --full --device cuda # GPU: SD 1.5-sized UNet, 512×512, fp16

Random weights: the cost of a step does not depend on what the weights are. Prints the median
per-step cost of the step callback and the wall-time ratio runner / bare (goal ≤ 1.02 on the CPU,
≤ 1.01 on a GPU).

The bare pipeline is timed twice: called from the main thread, as a user would, and from a
background thread, as the runner must. On a CPU the second is slower whatever the runner does:
once two threads have driven PyTorch's OpenMP, libgomp counts more threads than cores and stops
spinning at barriers (tens of thousands of futex sleeps per run). runner / bare-in-thread is the
runner's own cost; runner / bare-in-main adds that effect. ``runner.generate()`` runs in the
calling thread (the main one here), so "generate" is what a user of the blocking form feels;
"start" (a background run) is timed too, and "widget": a run hosted on an asyncio loop on the
main thread (``Runner.on_kernel``), as the widget's runs are in a kernel.

On CUDA it also counts the host synchronisations the step callback makes
(``torch.cuda.set_sync_debug_mode("warn")`` while the runner runs; the goal is 0) and prints a
CUDA-event timeline of one callback.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from sdwidget import Runner
from sdwidget.core import hook as _hook
from sdwidget.testing import make_scheduler, tokenizer

SD_BLOCKS = {
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    "layers_per_block": 2,
}


def build(full: bool, device: str, dtype: torch.dtype) -> StableDiffusionPipeline:
    torch.manual_seed(0)
    width, text = ((320, 640, 1280, 1280), 768) if full else ((32, 64, 128, 128), 128)
    unet = UNet2DConditionModel(
        block_out_channels=width, cross_attention_dim=text, attention_head_dim=8, sample_size=64, **SD_BLOCKS
    )
    vae_width = (128, 256, 512, 512) if full else (32, 64, 64, 64)
    vae = AutoencoderKL(
        block_out_channels=vae_width, latent_channels=4, norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )  # fmt: skip
    encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=text,
            intermediate_size=4 * text,
            num_attention_heads=8,
            num_hidden_layers=12 if full else 2,
            vocab_size=256,
        )  # fmt: skip
    )
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=encoder, tokenizer=tokenizer(), unet=unet, scheduler=make_scheduler("euler"),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device, dtype)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--full", action="store_true", help="SD 1.5-sized UNet, VAE and text encoder")
    parser.add_argument("--size", type=int, default=None, help="image side (default 256 CPU, 512 full)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.size or (512 if args.full else 256)
    dtype = torch.float16 if args.device == "cuda" else torch.float32
    pipe = build(args.full, args.device, dtype)
    # The same thread count as bare-in-thread, so the ratio is the runner's own cost (by default
    # it would pick one thread for this small model; demo_speed.py times that default).
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    hook_costs: list[float] = []
    timed = _hook.StepHook.callback_fn

    def timed_callback(self, *a):
        t0 = time.perf_counter()
        out = timed(self, *a)
        hook_costs.append(time.perf_counter() - t0)
        return out

    _hook.StepHook.callback_fn = timed_callback
    common = {"num_inference_steps": args.steps, "guidance_scale": 7.5, "height": size, "width": size}
    prompt = "a red star on a blue background"

    def bare() -> None:
        pipe(prompt, generator=torch.Generator().manual_seed(0), **common)

    def bare_in_thread() -> None:
        thread = threading.Thread(target=bare)
        thread.start()
        thread.join()

    def ours() -> None:
        run = runner.generate(prompt, seed=0, **common)
        assert run.status.value == "finished", run.traceback

    def background() -> None:
        run = runner.start(prompt, seed=0, **common)
        run.wait()
        assert run.status.value == "finished", run.traceback

    async def on_loop() -> None:
        with runner.on_kernel():
            run = runner.start(prompt, seed=0, **common)
        while not run.done:  # the loop turns between steps, as a kernel's handles messages
            await asyncio.sleep(0)
        assert run.status.value == "finished", run.traceback

    def hosted() -> None:
        asyncio.run(on_loop())

    bare(), ours()  # warm-up: allocator, kernels, calibration
    hook_costs.clear()
    modes = {"bare": bare, "bare-thread": bare_in_thread, "generate": ours, "start": background, "widget": hosted}
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, fn in modes.items():
            sync(args.device)
            t0 = time.perf_counter()
            fn()
            sync(args.device)
            times[name].append(time.perf_counter() - t0)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"device={args.device} dtype={dtype} size={size} steps={args.steps} rounds={args.rounds} full={args.full}")
    for name, value in medians.items():
        print(f"{name:12s} median {value:.3f} s  ({1000 * value / args.steps:.1f} ms/step)")
    print(f"step callback median {1e6 * statistics.median(hook_costs):.0f} us  (max {1e6 * max(hook_costs):.0f} us)")
    print(f"ratio start/bare-thread  {medians['start'] / medians['bare-thread']:.4f}  (the runner's own cost)")
    print(f"ratio generate/bare      {medians['generate'] / medians['bare']:.4f}  (what a user of generate() feels)")
    print(f"ratio start/bare         {medians['start'] / medians['bare']:.4f}  (a background run: Python's start())")
    print(f"ratio widget/bare        {medians['widget'] / medians['bare']:.4f}  (what a user of the widget feels)")
    if args.device == "cuda":
        base, ours_count = count_syncs(bare), count_syncs(ours)
        print(
            f"host syncs over one run: bare {base}, runner {ours_count} (the runner adds {ours_count - base}; goal 0)"
        )


def count_syncs(fn) -> int:
    """Warnings torch raises for each host synchronisation while ``fn`` runs the step callback."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in caught)


if __name__ == "__main__":
    main()
