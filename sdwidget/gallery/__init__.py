"""Step galleries: a run recorded apart from its pipeline, exported to a folder, loaded back.

``Gallery.from_run(run)`` records; ``gallery.save(folder)`` exports (``export``: PNG per step with
metadata, contact sheet, animations, ``run.json``); ``Gallery.load(folder)`` reads it back with
no model; ``Runner.replay(gallery)`` runs it again exactly. ``extras``: what a run's pipeline
carries beyond its model folder (LoRA, swapped components, added tokens), recorded with it.
"""

from __future__ import annotations

from .export import a1111_parameters
from .read import read_bounded
from .record import Gallery
from .schema import check_params

__all__ = ["Gallery", "a1111_parameters", "check_params", "read_bounded"]
