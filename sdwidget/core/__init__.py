"""The run engine: a ``Runner`` drives one diffusers pipeline step by step in a background thread.

``Runner.start`` validates everything (``validate``, ``params``, ``schedule``) into a ``Run`` and
a ``RunPlan``; the run's thread (``work``) has the pipeline's family (``sdwidget.families``)
encode the prompts, taps the scheduler for x0 (``x0``) and calls the pipeline inside the family's
steering with a ``StepHook`` (``hook``), which at each step boundary records a ``StepEvent``,
reads the run's ``Controls`` and hands knob values and prompt edits to the family's switch.
Observers get the events; nothing here knows of widgets or galleries, nor of any model family.
"""

from __future__ import annotations

from . import validate
from .controls import Controls
from .events import RunStatus, StatusEvent, StepEvent
from .latents import LatentStore, decode_image
from .plan import RunPlan
from .replay import Recorded
from .run import Run
from .runner import Runner
from .schedule import Schedule

__all__ = [
    "Controls",
    "LatentStore",
    "Recorded",
    "Run",
    "RunPlan",
    "RunStatus",
    "Runner",
    "Schedule",
    "StatusEvent",
    "StepEvent",
    "decode_image",
    "validate",
]
