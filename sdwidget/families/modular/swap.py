"""Swapping a modular pipeline's guider between runs, by the guider built or by its name.

diffusers swaps a modular pipeline's component with ``pipe.update_components(guider=...)``; the
denoise loop reads ``components.guider`` at every step, so the next call runs the new one, and
the family's knobs (``guiders.knobs``) are read off it. A guider named is built from
``diffusers.guiders`` with the config given over the defaults below. A swap while a run goes is
refused with ``mid_run``'s reason.
"""

from __future__ import annotations

from typing import Any

from diffusers import guiders as built
from diffusers.hooks import LayerSkipConfig

from . import guiders

LABELS = {
    "ClassifierFreeGuidance": "CFG",
    "AdaptiveProjectedGuidance": "APG",
    "PerturbedAttentionGuidance": "PAG",
    "SkipLayerGuidance": "Skip-layer guidance",
    "ClassifierFreeZeroStarGuidance": "CFG-Zero*",
}
"""The guiders a person can swap to, by class name, with the short name a person knows."""

# The argument that says which layers a guider perturbs: without it, diffusers' PAG and
# skip-layer guidance refuse to be built.
_LAYERS = {
    "PerturbedAttentionGuidance": ("perturbed_guidance_config", "perturbed_guidance_layers"),
    "SkipLayerGuidance": ("skip_layer_config", "skip_layer_guidance_layers"),
}


def defaults(name: str, denoiser: Any) -> dict[str, Any]:
    """What a guider named is built with besides diffusers' own defaults: APG with the paper's
    momentum (-0.5; diffusers' default, none, would leave no momentum to steer); PAG and skip-layer
    guidance on every transformer block of the UNet's middle block, as diffusers' SDXL PAG
    pipeline applies PAG by default ("mid"): PAG's attention scores made the identity, skip-layer
    guidance's blocks skipped. diffusers' "auto" layers find no blocks in a UNet. (A family whose
    denoiser is a transformer, SD3's, refuses both: ``GuiderSwap.broken``.)"""
    if name == "AdaptiveProjectedGuidance":
        return {"adaptive_projected_guidance_momentum": -0.5}
    if name not in _LAYERS:
        return {}
    fqn = "mid_block.attentions.0.transformer_blocks"
    indices = list(range(len(denoiser.get_submodule(fqn))))
    pag = name == "PerturbedAttentionGuidance"
    return {_LAYERS[name][0]: LayerSkipConfig(indices, fqn, skip_attention=not pag, skip_attention_scores=pag,
                                              skip_ff=not pag)}  # fmt: skip


def build(name: Any, denoiser: Any, config: dict[str, Any]) -> Any:
    """The guider ``name`` (a class name of ``LABELS``) built with ``config`` over ``defaults``."""
    if name not in LABELS:
        shown = repr(name)[:60]
        raise ValueError(f"no guider {shown} to swap to; sdwidget swaps to {', '.join(LABELS)}")
    base = defaults(name, denoiser)
    if set(_LAYERS.get(name, ())) & set(config):  # the layers given replace ours
        base = {}
    return getattr(built, name)(**{**base, **config})


def unchecked(guider: Any) -> str | None:
    """Why ``guider`` is not steered (after "the" or a pipeline's name), or ``None``."""
    if type(guider).__name__ in guiders.KNOBS:
        return None
    return (
        f"guider {type(guider).__name__} has not been checked step by step; sdwidget steers the guiders "
        f"{', '.join(guiders.KNOBS)}"
    )


def mid_run(now: str, to: str) -> str:
    """Why a guider cannot be swapped while a run goes, in words (the run's, and the two guiders')."""
    why = [
        "a run records one guider and the curves of its knobs, which its replay and its branches repeat, so a "
        "guider swapped mid-run would be in no record and no branch could repeat it",
    ]
    if now != to:
        why.append(f"its knobs are {LABELS.get(now, now)}'s, fixed when it started, and {LABELS.get(to, to)}'s differ")
    if "AdaptiveProjectedGuidance" in (now, to):
        why.append(
            "APG makes its momentum buffer at the first step and carries it from step to step: swapped in mid-run "
            "it would have none, swapped out the buffer a branch restores would be gone"
        )
    return "; ".join(why)


class GuiderSwap:
    """A modular family's side of ``Runner.set_guider`` (``core/guider_swap.py``)."""

    pipe: Any
    denoiser: Any
    broken: dict[str, str] = {}
    """Guiders steered elsewhere that fail on this family's model, by class name: why (after "the guider X")."""

    @classmethod
    def guider_refusal(cls, guider: Any) -> str | None:
        """Why ``guider`` (built, or a class name) is not steered here (after "the"), or ``None``."""
        name = guider if isinstance(guider, str) else type(guider).__name__
        if name in cls.broken:
            return f"guider {name} {cls.broken[name]}"
        return None if isinstance(guider, str) else unchecked(guider)

    def guider_choices(self) -> dict[str, str]:
        """The guiders a person can swap to: class name → short name."""
        return {name: label for name, label in LABELS.items() if name not in self.broken}

    def guider_name(self) -> str:
        return type(self.pipe.guider).__name__

    def set_guider(self, guider: Any, config: dict[str, Any]) -> None:
        """``pipe.update_components(guider=...)`` with ``guider`` built, or built here from its name;
        a guider of a class not steered is refused (``guiders.KNOBS``, ``broken``), leaving the pipeline's."""
        if isinstance(guider, str):
            if self.guider_refusal(guider):
                raise ValueError(f"the {self.guider_refusal(guider)}")
            guider = build(guider, self.denoiser, config)
        elif config:
            raise TypeError("set_guider: config is for a guider given by name; this one is built already")
        if self.guider_refusal(guider):
            raise ValueError(f"the {self.guider_refusal(guider)}")
        self.pipe.update_components(guider=guider)

    def build_guider(self, name: str, config: dict[str, Any]) -> Any:
        if self.guider_refusal(name):
            raise ValueError(f"the {self.guider_refusal(name)}")
        return build(name, self.denoiser, config)

    def swap_refusal(self, to: str) -> str:
        return mid_run(self.guider_name(), to)
