"""sdwidget: watch and steer diffusers sampling by hand — live preview, pause, stop, guidance."""

from __future__ import annotations

from ._events import Frame, RunStatus, StatusEvent, StepEvent
from ._gallery import Gallery
from ._preview import LatentPreview
from ._run import Run
from ._runner import Runner
from ._tiny import tiny_sd_pipeline as tiny_pipeline
from ._widget import SamplerWidget
from .demo import demo_pipeline

__version__ = "0.1.0"
__all__ = [
    "Frame",
    "Gallery",
    "LatentPreview",
    "Run",
    "RunStatus",
    "Runner",
    "SamplerWidget",
    "StatusEvent",
    "StepEvent",
    "demo_pipeline",
    "tiny_pipeline",
]
