"""Sweeps: a hand-steered run replayed over many seeds and prompts, on one device or K with accelerate.

``sweep(source, seeds=..., prompts=..., out=...)`` (``python -m sdwidget sweep`` on the command
line, ``main``) replays the recorded per-step guidance and prompt edits of ``source`` for every
(prompt, seed) pair on the recorded model and writes, per item, the final PNG (the run's
metadata in its chunks) and a JSON record; then ``runs.jsonl`` and a captioned ``grid.png``.

Files: ``inputs`` (seeds and prompts, checked), ``source`` (the recorded run), ``plan`` (the
items and the sweep's identity), ``model`` (find and load the model), ``folder`` (the output
folder: atomic, resumable, one writer per file), ``render`` (one item, or a batch of one
prompt's seeds in one pipeline call), ``grid`` (the contact
sheet), ``progress`` (one line for all processes), ``job`` (the whole run, across processes), ``cli``,
``records`` (a finished sweep's ``runs.jsonl`` read back, bounded), ``seeds`` (seeds as
ranges), ``group`` (the processes and what they agree on), ``lock`` (one sweep per folder),
``images`` (an image-input run's images, kept in the folder), ``extras`` (a run's LoRA, swapped
components and added tokens, which a model folder does not hold: refused by name).
"""

from __future__ import annotations

from .cli import main
from .grid import caption
from .inputs import SweepError, parse_seeds, read_prompts
from .job import SweepIncomplete, sweep
from .plan import Item, SweepPlan
from .progress import Progress
from .records import load_records
from .render import item_source
from .source import Source, load_source

__all__ = [
    "Item",
    "Progress",
    "Source",
    "SweepError",
    "SweepIncomplete",
    "SweepPlan",
    "caption",
    "item_source",
    "load_records",
    "load_source",
    "main",
    "parse_seeds",
    "read_prompts",
    "sweep",
]
