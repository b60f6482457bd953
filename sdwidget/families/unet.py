"""What the UNet loops share: classifier-free guidance read off ``pipe.guidance_scale`` at every
step, with every tensor it doubles handed to step callbacks.

These loops batch ``[unconditional, conditional]`` under CFG, so a guidance change at a step
boundary is a new ``pipe._guidance_scale`` and, across 1.0, the doubled tensors switched
(``CfgSwitch``). A family of them (``sd.py``, ``sdxl.py``) names its loops and, among them, those
that weight CFG by their own argument (``GuidanceWeight`` combines the halves for them) and those
that never take some callback tensors back (the step hook writes into the loop's own).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Collection, Iterator
from typing import Any, ClassVar

import torch

from . import ip_adapter, ip_adapter_scales
from .cfg import CfgParts, CfgSwitch
from .cfg_halves import unet_doubled
from .encode import encode_together
from .loops import loop_of
from .steering import Embeddings, Knob, OutputTap, Steering
from .weight import GuidanceWeight

CFG = Knob(
    "guidance_scale", "cfg", default=7.5, off_at=1.0,
    meaning="Classifier-free guidance: how far each step is pushed from the negative prompt towards the prompt; "
    "at 1.0 and below it is off and a step costs one UNet pass",
)  # fmt: skip
RESCALE = Knob(
    "guidance_rescale", "rescale", default=0.0, low=0.0, high=1.0,
    meaning="Guidance rescale: the share of each guided step pulled back to the conditional prediction's spread, "
    "against the over-exposure strong guidance gives (Lin et al. 2023); it acts only while CFG is on",
)  # fmt: skip


class UnetLoops:
    """A family of UNet loops; subclasses set the class attributes below."""

    loops: ClassVar[tuple[str, ...]]
    """The diffusers pipelines whose ``__call__`` this family steers, each checked by an oracle test."""
    rescaling: ClassVar[tuple[str, ...]] = ()
    """Those that read ``pipe.guidance_rescale`` at every step, so it is a knob there."""
    own_weight: ClassVar[tuple[str, ...]] = ()
    """Those that weight CFG by their ``guidance_scale`` argument, not ``pipe.guidance_scale``."""
    dropped_by: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Per loop, the callback tensors it hands out but never takes back."""
    pooled: ClassVar[str] = "pooled_prompt_embeds"
    scale_arguments: ClassVar[tuple[str, ...]] = ()
    """The step callbacks' name for the pooled prompt embeddings, where the encoder makes some."""

    def __init__(self, pipe: Any) -> None:
        self.pipe, self.denoiser = pipe, pipe.unet
        loop = loop_of(pipe, self.loops) or ""
        self.dropped: tuple[str, ...] = self.dropped_by.get(loop, ())
        self.weighted = loop in self.own_weight
        self.rescales = loop in self.rescaling

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        return getattr(pipe, "unet", None) is not None and loop_of(pipe, cls.loops) is not None

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        return lcm_refusal(pipe)

    def knobs(self) -> list[Knob]:
        return [CFG, RESCALE] if self.rescales else [CFG]

    def arguments(self) -> Collection[str]:
        return inspect.signature(self.pipe.__call__).parameters.keys()

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        name = type(self.pipe).__name__
        if pipe_kwargs.get("guidance_rescale") and self.weighted:
            raise TypeError(
                f"guidance_rescale cannot be passed to {name} through the runner: it weights CFG by its "
                "guidance_scale argument, so sdwidget combines the UNet's halves itself and the pipeline would "
                "rescale against halves it no longer has"
            )
        ip_adapter.check(self.pipe, pipe_kwargs)  # the run swaps these embeddings when CFG switches

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        if pipe_kwargs.get("guess_mode") and guidance <= 1:
            raise ValueError(
                "guess_mode=True needs guidance above 1 at the start: a run started without CFG cannot tell "
                "the ControlNet's guess-mode batch layout when guidance is raised later"
            )

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor)

    def state(self) -> dict[str, Any]:
        return {"ip_adapter_scale": ip_adapter_scales.scales(self.pipe)}

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        if "ip_adapter_scale" not in recorded:
            return []
        why = ip_adapter_scales.difference(recorded["ip_adapter_scale"], self.pipe)
        return [] if why is None else [why]

    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves, one row per prompt: the pipeline repeats them for ``num_images_per_prompt``."""
        return encode_together(self.pipe, prompt, negative_prompt, options, self.pooled)

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        doubled = unet_doubled(self.pipe, self.weighted, params["prompt"], pipe_kwargs)
        # The weight goes inside the tap: a branch's replayed halves are combined with its own guidance.
        with (
            tap(1),
            GuidanceWeight(self.pipe) if self.weighted else contextlib.nullcontext(),
            ip_adapter.IPAdapterEmbeds(self.pipe, params, pipe_kwargs) as ip,
            doubled or contextlib.nullcontext(),
        ):
            negatives = {**embeddings.uncond, **self.negatives(params, pipe_kwargs, embeddings)}
            switch = CfgSwitch(self.pipe, negatives)
            other = doubled and doubled.bind(switch.negatives)  # a step run with CFG off, made again under CFG
            yield Steering(switch, {**embeddings.call, **ip.pipe_kwargs}, parts=CfgParts(), other_half=other)

    def negatives(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings
    ) -> dict[str, torch.Tensor]:
        """Unconditional halves, besides the prompt's, for CFG switched on mid-run."""
        return {}

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return unchanged


def unchanged(latents: torch.Tensor) -> torch.Tensor:
    return latents


def lcm_refusal(pipe: Any) -> str | None:
    """A UNet taking guidance as an embedding computed before the loop (LCM) ignores a change."""
    if getattr(pipe.unet.config, "time_cond_proj_dim", None) is None:
        return None
    from . import SUPPORTED

    return (
        f"{type(pipe).__name__}'s UNet takes guidance as an embedding computed once before the loop "
        f"(time_cond_proj_dim, as LCM models do), so a guidance change mid-run would be ignored; "
        f"sdwidget steers {SUPPORTED}"
    )
