"""A tiny convolutional decoder as the preview, as TAESD is for SD; a model folder may ship one."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .base import Preview, pool, to_uint8

DECODER_FILE = "preview_decoder.safetensors"
"""A model folder holding this file beside ``model_index.json`` previews through it by default."""


def small_decoder(latent_channels: int = 4, upscale: int = 4, width: int = 32) -> nn.Module:
    """The first demo decoder: latents → RGB in [-1, 1] at ``upscale`` × their size, about 12k
    parameters. Files without a ``config`` in their metadata are loaded as one of these."""
    return nn.Sequential(
        nn.Conv2d(latent_channels, width, 3, padding=1), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
        nn.Conv2d(width, 3 * upscale**2, 1), nn.PixelShuffle(upscale),
    )  # fmt: skip


class _Block(nn.Module):
    def __init__(self, width: int, groups: int) -> None:
        super().__init__()
        self.norm, self.conv = nn.GroupNorm(groups, width), nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(F.silu(self.norm(x)))


class PreviewDecoder(nn.Module):
    """Latents → RGB in [-1, 1] at 4 × their size, shaped after the VAE decoder it imitates.

    At latent size: a convolution to ``width`` channels and ``blocks`` residual blocks with
    group norms. The VAE normalises each group over the whole image, which makes it ignore the
    scale of the early, over-driven x0 estimates and tints the whole picture by its statistics;
    without norms a small net cannot follow either (25/255 off on such frames, 15 with them).
    Then ×2 (a pixel shuffle to ``mid`` channels and a 3×3 convolution that mixes neighbouring
    cells) and ×2 to RGB. The first decoder shuffled each latent pixel straight into a 4×4 cell of
    RGB, predicted alone, and showed those cells as blocks and a checkerboard on flat colour; here
    no cell is predicted apart from its neighbours, and flat areas are as smooth as the VAE's
    (``tests/test_preview_fidelity.py`` measures their grain).
    """

    def __init__(self, latent_channels: int = 4, width: int = 48, blocks: int = 2, mid: int = 16, groups: int = 8):
        super().__init__()
        self.config = {"latent_channels": latent_channels, "width": width, "blocks": blocks, "mid": mid,
                       "groups": groups}  # fmt: skip
        self.conv_in = nn.Conv2d(latent_channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[_Block(width, groups) for _ in range(blocks)])
        self.norm_out = nn.GroupNorm(groups, width)
        self.to_mid = nn.Conv2d(width, 4 * mid, 1)
        self.mid = nn.Conv2d(mid, mid, 3, padding=1)
        self.to_rgb = nn.Conv2d(mid, 3 * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm_out(self.blocks(self.conv_in(x))))
        h = F.silu(self.mid(F.silu(F.pixel_shuffle(self.to_mid(h), 2))))
        return F.pixel_shuffle(self.to_rgb(h), 2)


def load_decoder(path: str | Path) -> tuple[nn.Module, dict[str, str]]:
    """The decoder in a safetensors file and the file's metadata: a ``PreviewDecoder`` where the
    metadata has its ``config``, else a ``small_decoder`` (the first demo decoder's files)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata() or {})
    state = load_file(str(path))
    if "config" in meta:
        net: nn.Module = PreviewDecoder(**json.loads(meta["config"]))
    else:
        first, last = state["0.weight"], state["4.weight"]
        net = small_decoder(first.shape[1], math.isqrt(last.shape[0] // 3), first.shape[0])
    net.load_state_dict(state)
    return net, meta


class NetPreview(Preview):
    """A small decoder net for VAEs whose latent space is too far from linear for a per-pixel map
    (the demo VAE: 45/255 mean error for the best linear map at latent size). The demo model's
    ``PreviewDecoder`` (49k parameters, about 0.8 ms a frame on one CPU thread, where the VAE's
    own decode takes 16 ms) says how far it is from that decode in ``error``."""

    def __init__(self, net: nn.Module, max_size: int = 128, error: float | None = None) -> None:
        self.net = net.float().eval().requires_grad_(False)
        self.max_size = max_size
        self.error = error

    @classmethod
    def from_file(cls, path: str | Path, max_size: int = 128) -> NetPreview:
        """The decoder saved in ``path`` (safetensors; see ``load_decoder``), with the error
        measured when it was trained if the file records one."""
        net, meta = load_decoder(path)
        return cls(net, max_size=max_size, error=float(meta["error"]) if "error" in meta else None)

    def save(self, path: str | Path, **meta: Any) -> None:
        """The weights as safetensors; the metadata holds the ``PreviewDecoder`` config, the
        measured ``error`` and any ``meta`` given (as strings)."""
        from safetensors.torch import save_file

        info = {"format": "pt", **{k: str(v) for k, v in meta.items()}}
        if isinstance(self.net, PreviewDecoder):
            info["config"] = json.dumps(self.net.config)
        if self.error is not None:
            info["error"] = f"{self.error:.3f}"
        save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(path), metadata=info)

    def recipe(self) -> list[dict[str, Any]] | None:
        """``rgb``'s ops where the net is a ``PreviewDecoder`` or a ``small_decoder``; other nets: ``None``."""
        ops, end = _ops(self.net), {"op": "pool", "max_size": self.max_size}
        return None if ops is None else [*ops, {"op": "clamp", "low": -1.0, "high": 1.0}, end, {"op": "to_uint8"}]

    @torch.no_grad()
    def rgb(self, latents: torch.Tensor) -> torch.Tensor:
        if next(self.net.parameters()).device != latents.device:
            self.net.to(latents.device)
        return to_uint8(pool(self.net(latents.float()[None])[0].clamp_(-1, 1), self.max_size))


def _ops(net: nn.Module) -> list[dict[str, Any]] | None:
    """The net's forward as recipe ops (``Preview.recipe``), or ``None`` for a layer it has none for."""
    silu, up = {"op": "silu"}, {"op": "pixel_shuffle", "factor": 2}
    ops: list[dict[str, Any] | None] = [_layer(layer) for layer in net] if isinstance(net, nn.Sequential) else [None]
    if isinstance(net, PreviewDecoder):
        ops = [_layer(net.conv_in)]
        for block in net.blocks:
            ops += [{"op": "push"}, _layer(block.norm), silu, _layer(block.conv), {"op": "add"}]
        ops += [_layer(net.norm_out), silu, _layer(net.to_mid), up, silu, _layer(net.mid), silu, _layer(net.to_rgb), up]
    return None if None in ops else ops  # type: ignore[return-value]


def _layer(layer: Any) -> dict[str, Any] | None:
    if isinstance(layer, nn.SiLU | nn.PixelShuffle):
        return {"op": "silu"} if isinstance(layer, nn.SiLU) else {"op": "pixel_shuffle", "factor": layer.upscale_factor}
    k = getattr(layer, "kernel_size", (0, 1))  # the page's one convolution: square, odd, centred, with a bias
    conv = isinstance(layer, nn.Conv2d) and k[0] == k[1] and k[0] % 2 == 1 and layer.padding == (k[0] // 2,) * 2
    conv = conv and (layer.stride, layer.dilation, layer.groups, layer.padding_mode) == ((1, 1), (1, 1), 1, "zeros")
    if not ((conv and layer.bias is not None) or (isinstance(layer, nn.GroupNorm) and layer.affine)):
        return None
    op = {name: getattr(layer, name).detach().float().cpu() for name in ("weight", "bias")}
    return {"op": "conv", **op} if conv else {"op": "group_norm", "groups": layer.num_groups, "eps": layer.eps, **op}
