"""sdwidget: watch and steer diffusers sampling by hand — live preview, pause, stop, guidance.

Rooms, each importing only the ones below it: ``widget`` (the notebook panel) → ``gallery``
(record, export, load) → ``core`` (the run engine) → ``families`` (one module per model family:
what the engine asks of a pipeline's loop) and ``preview`` (latents → pixels); ``sweep``
replays a steered run over many seeds and prompts; ``demo`` is the shipped model, ``testing``
tiny pipelines for tests.
"""

from __future__ import annotations

from .demo._quiet import no_torchvision_notice

with no_torchvision_notice():  # importing diffusers' pipelines makes transformers log it
    from .core import Run, Runner, RunStatus, StatusEvent, StepEvent
    from .demo import demo_pipeline
    from .gallery import Gallery
    from .preview import Frame, LatentPreview, NetPreview, Preview
    from .sweep import sweep
    from .widget import SamplerWidget
from .versions import warn_if_untested

warn_if_untested()  # once per process, only for a diffusers outside the tested series

__version__ = "0.1.0"
__all__ = [
    "Frame",
    "Gallery",
    "LatentPreview",
    "NetPreview",
    "Preview",
    "Run",
    "RunStatus",
    "Runner",
    "SamplerWidget",
    "StatusEvent",
    "StepEvent",
    "demo_pipeline",
    "sweep",
]
