"""The published latent→RGB maps of SD 1.x/2.x, SDXL, SD3, Flux and Qwen-Image's VAEs."""

from __future__ import annotations

from typing import Any

import torch

# Per latent channel, its contribution to (R, G, B) in [-1, 1], for latents as the sampling loop
# holds them (already multiplied by the VAE's scaling factor, and for SD3 and Flux shifted
# first). Measured and published by ComfyUI (comfy/latent_formats.py).
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD1_BIAS = (0.0, 0.0, 0.0)
SDXL_FACTORS = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_BIAS = (0.1084, -0.0175, -0.0011)


SD3_FACTORS = (
    (-0.0922, -0.0175, 0.0749), (0.0311, 0.0633, 0.0954), (0.1994, 0.0927, 0.0458), (0.0856, 0.0339, 0.0902),
    (0.0587, 0.0272, -0.0496), (-0.0006, 0.1104, 0.0309), (0.0978, 0.0306, 0.0427), (-0.0042, 0.1038, 0.1358),
    (-0.0194, 0.0020, 0.0669), (-0.0488, 0.0130, -0.0268), (0.0922, 0.0988, 0.0951), (-0.0278, 0.0524, -0.0542),
    (0.0332, 0.0456, 0.0895), (-0.0069, -0.0030, -0.0810), (-0.0596, -0.0465, -0.0293), (-0.1448, -0.1463, -0.1189),
)  # fmt: skip
SD3_BIAS = (0.2394, 0.2135, 0.1925)
FLUX_FACTORS = (
    (-0.0346, 0.0244, 0.0681), (0.0034, 0.0210, 0.0687), (0.0275, -0.0668, -0.0433), (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329), (0.0004, 0.0383, 0.0115), (0.0405, 0.0861, 0.0915), (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180), (0.1008, 0.0755, -0.0421), (-0.0515, 0.0201, 0.0011), (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749), (-0.1264, -0.0522, -0.1103), (-0.0280, -0.0881, -0.0499), (-0.1262, -0.0982, -0.0778),
)  # fmt: skip
FLUX_BIAS = (-0.0329, -0.0718, -0.0851)
# Qwen-Image's VAE is Wan 2.1's (AutoencoderKLQwenImage): its loop holds latents normalised by the
# per-channel mean and spread below, which is what ComfyUI's Wan21 map reads (its process_in).
WAN21_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517,
              -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)  # fmt: skip
WAN21_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579,
             1.6382, 1.1253, 2.8251, 1.9160)  # fmt: skip
WAN21_FACTORS = (
    (-0.1299, -0.1692, 0.2932), (0.0671, 0.0406, 0.0442), (0.3568, 0.2548, 0.1747), (0.0372, 0.2344, 0.1420),
    (0.0313, 0.0189, -0.0328), (0.0296, -0.0956, -0.0665), (-0.3477, -0.4059, -0.2925), (0.0166, 0.1902, 0.1975),
    (-0.0412, 0.0267, -0.1364), (-0.1293, 0.0740, 0.1636), (0.0680, 0.3019, 0.1128), (0.0032, 0.0581, 0.0639),
    (-0.1251, 0.0927, 0.1699), (0.0060, -0.0633, 0.0005), (0.3477, 0.2275, 0.2950), (0.1984, 0.0913, 0.1861),
)  # fmt: skip
WAN21_BIAS = (-0.1835, -0.0868, -0.3360)
# By (latent channels, scaling factor, shift factor) of a VAE with SD's architecture.
PUBLISHED: dict[tuple[Any, float, float], tuple[Any, Any]] = {
    (4, 0.18215, 0.0): (SD1_FACTORS, SD1_BIAS),
    (4, 0.13025, 0.0): (SDXL_FACTORS, SDXL_BIAS),
    (16, 1.5305, 0.0609): (SD3_FACTORS, SD3_BIAS),
    (16, 0.3611, 0.1159): (FLUX_FACTORS, FLUX_BIAS),
}


def known_map(vae_config: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The published map for SD 1.x/2.x, SDXL, SD3 and Flux's VAEs, recognised by their architecture
    and their scaling and shift factors; for Qwen-Image's (Wan 2.1's) by its latent statistics, which
    are those of its trained weights (and the defaults of ``AutoencoderKLQwenImage``)."""
    if _wan21(vae_config):
        return torch.tensor(WAN21_FACTORS), torch.tensor(WAN21_BIAS)
    if tuple(getattr(vae_config, "block_out_channels", ())) != (128, 256, 512, 512):
        return None
    key = (
        getattr(vae_config, "latent_channels", None),
        round(float(vae_config.scaling_factor), 5),
        round(float(getattr(vae_config, "shift_factor", None) or 0.0), 5),
    )
    found = PUBLISHED.get(key)
    return None if found is None else (torch.tensor(found[0]), torch.tensor(found[1]))


def _wan21(vae_config: Any) -> bool:
    mean, std = getattr(vae_config, "latents_mean", None), getattr(vae_config, "latents_std", None)
    if getattr(vae_config, "z_dim", None) != 16 or mean is None or std is None:
        return False
    return tuple(round(float(v), 4) for v in mean) == WAN21_MEAN and tuple(round(float(v), 4) for v in std) == WAN21_STD
