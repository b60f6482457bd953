"""A modular pipeline's guider as knobs: which of its attributes a person turns, step by step.

diffusers' guiders (``diffusers.guiders``) read their settings off plain attributes at every
step (``set_state`` then ``prepare_inputs`` and ``forward``), so a value set between two steps
is the next step's, exactly. The table below names, per guider class, the settings that make
sense per step; anything else (the layers PAG perturbs, a norm dimension) shapes the guider
itself and stays as the user built it. ``start``/``stop`` are the guider's guidance interval, as
fractions of the run's steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..steering import Knob

SCALE = Knob(
    "guidance_scale", "cfg", default=7.5, off_at=1.0,
    meaning="The guider's scale: how far each step is pushed from the negative prompt towards the prompt; exactly "
    "1.0 switches it off (one prediction a step); below 1.0 the guider still combines both",
)  # fmt: skip
RESCALE = Knob(
    "guidance_rescale", "rescale", default=0.0, low=0.0, high=1.0,
    meaning="The share of each guided step pulled back to the conditional prediction's spread (over-exposure)",
)  # fmt: skip
START = Knob(
    "start", "interval", default=0.0, low=0.0, high=1.0,
    meaning="Guidance interval: the share of the steps before guidance starts (it is off before)",
)  # fmt: skip
STOP = Knob(
    "stop", "interval", default=1.0, low=0.0, high=1.0,
    meaning="Guidance interval: the share of the steps after which guidance stops (it is off after)",
)  # fmt: skip
ETA = Knob(
    "eta", "apg", default=1.0, low=0.0, high=1.0,
    meaning="APG: how much of the guidance parallel to the conditional prediction is kept (0 drops it)",
)  # fmt: skip
MOMENTUM = Knob(
    "adaptive_projected_guidance_momentum", "apg", default=-0.5, low=-1.0, high=1.0,
    meaning="APG: the share of the previous steps' guidance carried into this one (negative: pushes away from it)",
)  # fmt: skip
NORM = Knob(
    "adaptive_projected_guidance_rescale", "apg", default=15.0, low=0.0, high=100.0,
    meaning="APG: the largest norm the guidance update may have (its norm threshold)",
)  # fmt: skip
LAYER_SCALE = Knob(
    "skip_layer_guidance_scale", "layers", default=2.8, low=0.0, high=100.0,
    meaning="How far each step is pushed away from the prediction with the chosen layers perturbed",
)  # fmt: skip
LAYER_START = Knob(
    "skip_layer_guidance_start", "interval", default=0.01, low=0.0, high=1.0,
    meaning="The share of the steps before the perturbed-layer guidance starts",
)  # fmt: skip
LAYER_STOP = Knob(
    "skip_layer_guidance_stop", "interval", default=0.2, low=0.0, high=1.0,
    meaning="The share of the steps after which the perturbed-layer guidance stops",
)  # fmt: skip
ZERO_STEPS = Knob(
    "zero_init_steps", "steps", default=1.0, low=0.0, high=1000.0,
    meaning="CFG-Zero*: how many first steps predict zero (a whole number)",
)  # fmt: skip

_LAYERS = [LAYER_SCALE, LAYER_START, LAYER_STOP]
KNOBS: dict[str, list[Knob]] = {
    "ClassifierFreeGuidance": [RESCALE, START, STOP],
    "AdaptiveProjectedGuidance": [ETA, MOMENTUM, NORM, RESCALE, START, STOP],
    "PerturbedAttentionGuidance": [*_LAYERS, RESCALE, START, STOP],
    "SkipLayerGuidance": [*_LAYERS, RESCALE, START, STOP],
    "ClassifierFreeZeroStarGuidance": [ZERO_STEPS, RESCALE, START, STOP],
}
"""The guiders steered, by class name, with their knobs after the scale."""

_THREE = "it makes three predictions a step (the third with layers perturbed), and a lens weighs two halves"
NO_LENS: dict[str, str] = {
    "ClassifierFreeGuidance": (
        "the guider makes one prediction at exactly 1.0 and outside its interval, but mixes both below 1.0 and "
        "rescales a lone prediction, so a step it ran with one prediction shows no other value, and a value set "
        "while such a step is held could not be applied to it exactly"
    ),
    "AdaptiveProjectedGuidance": (
        "APG carries a momentum buffer from step to step, changed in place and not kept per step, and projects "
        "each step's guidance off the conditional prediction"
    ),
    "PerturbedAttentionGuidance": _THREE,
    "SkipLayerGuidance": _THREE,
    "ClassifierFreeZeroStarGuidance": (
        "CFG-Zero* predicts zero for its first zero_init_steps steps and fits a scale per step to both "
        "predictions, a rule of the step that a lens is not told"
    ),
}
"""Why each guider steered has no free guidance lens (after "no free guidance lens: ")."""

# Attributes kept under another name than the knob's.
_ATTRIBUTE = {"start": "_start", "stop": "_stop"}


def knobs(guider: Any) -> list[Knob]:
    """The guider's knobs, the scale first, each defaulting to the guider's current value. APG
    built without momentum has no momentum buffer, so its momentum is no knob there."""
    later = KNOBS[type(guider).__name__]
    if getattr(guider, "adaptive_projected_guidance_momentum", 0.0) is None:
        later = [knob for knob in later if knob is not MOMENTUM]
    return [dataclasses.replace(knob, default=value(guider, knob.name)) for knob in [SCALE, *later]]


def value(guider: Any, name: str) -> float:
    return float(getattr(guider, _ATTRIBUTE.get(name, name)))


def put(guider: Any, name: str, given: float) -> None:
    """Set a knob; APG's momentum lives in its buffer too once the run has made one."""
    setattr(guider, _ATTRIBUTE.get(name, name), int(given) if name == ZERO_STEPS.name else given)
    buffer = getattr(guider, "momentum_buffer", None)
    if name == MOMENTUM.name and buffer is not None:
        buffer.momentum = given
