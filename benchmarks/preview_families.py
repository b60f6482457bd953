"""Each family's default preview against the VAE's decode of the same step, on tiny offline models.

    python benchmarks/preview_families.py [--steps 8] [--seeds 2]

For every family ``sdwidget.testing`` builds (random tiny weights, 64×64 or the family's smallest
size), a run keeps every step's latents; each step's frame from ``Runner(pipe).preview`` (the
family's default: a published map, or a map fitted to its VAE, FLUX.2's through its own latent
view) is compared with ``run.decode_step(k)``, the VAE's decode of the same latents shrunk to the
frame's size (``Preview.measure``): the mean absolute difference in 0–255 units, median and worst
over the steps, and the last step's against the final image. On random tiny VAEs these numbers
show each family's preview path working end to end (channels, packing, scaling, FLUX.2's latent
view), not how it looks on the real model: a map fitted to a random VAE is some 20 units off, and a
published map (Qwen-Image's, Wan 2.1's factors) is made for the real VAE, so it is far off here.
Measured at session 6 (6 steps, 1 seed, CPU): SD 22.9, SDXL 19.5, SD3 26.1, Flux 21.1, Chroma
25.5, Z-Image 21.5, FLUX.2 [klein] 26.8, FLUX.2 [dev] 22.8 (fitted maps); Qwen-Image 76.0
(published map on a random VAE).
"""

from __future__ import annotations

import argparse
import statistics

from sdwidget import Runner
from sdwidget.testing import (
    tiny_chroma_pipeline,
    tiny_flux2_dev_pipeline,
    tiny_flux2_klein_pipeline,
    tiny_flux_pipeline,
    tiny_qwen_image_pipeline,
    tiny_sd3_pipeline,
    tiny_sd_pipeline,
    tiny_sdxl_pipeline,
    tiny_z_image_pipeline,
)  # fmt: skip

FAMILIES = {
    "SD 1.x": (tiny_sd_pipeline, 64, 5.0),
    "SDXL": (tiny_sdxl_pipeline, 64, 5.0),
    "SD3": (tiny_sd3_pipeline, 64, 5.0),
    "Flux (true CFG)": (lambda: tiny_flux_pipeline(guidance_embeds=False), 64, 3.5),
    "Chroma": (tiny_chroma_pipeline, 64, 5.0),
    "Qwen-Image": (tiny_qwen_image_pipeline, 64, 4.0),
    "Z-Image": (tiny_z_image_pipeline, 64, 5.0),
    "FLUX.2 [klein]": (tiny_flux2_klein_pipeline, 64, 4.0),
    "FLUX.2 [dev]": (tiny_flux2_dev_pipeline, 64, 4.0),
}


def measure(make, size: int, guidance: float, steps: int, seeds: int) -> dict[str, float]:
    runner = Runner(make())
    errors, last = [], []
    for seed in range(seeds):
        run = runner.generate(
            "a red star on a blue background", num_inference_steps=steps, guidance_scale=guidance, seed=seed,
            height=size, width=size, keep_latents=True,
        )  # fmt: skip
        assert run.status.value == "finished", run.error
        for k in range(len(run.steps)):
            errors.append(runner.preview.measure(run.plan.keep.get(k), run.decode_step(k)))
        last.append(runner.preview.measure(run.plan.keep.get(len(run.steps) - 1), run.image))
    return {"median": statistics.median(errors), "worst": max(errors), "last": max(last)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="family names (default: all)")
    args = parser.parse_args()
    print(f"tiny random models, {args.seeds} seeds × {args.steps} steps; frame error /255 against the VAE decode")
    print(f"{'family':18} {'preview':18} {'median':>7} {'worst':>7} {'last vs image':>14}")
    for name, (make, size, guidance) in FAMILIES.items():
        if args.only and name not in args.only:
            continue
        row = measure(make, size, guidance, args.steps, args.seeds)
        kind = type(Runner(make()).preview).__name__
        print(f"{name:18} {kind:18} {row['median']:7.2f} {row['worst']:7.2f} {row['last']:14.2f}", flush=True)


if __name__ == "__main__":
    main()
