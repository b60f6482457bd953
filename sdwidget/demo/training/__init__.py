"""How the demo model was made, and how the tests judge it: ``python -m sdwidget.demo.training``.

Not needed to run sdwidget, and never imported by ``import sdwidget``: the drawing code
(``shapes``), the architectures (``models``), one training stage per module, the resumable loop
(``loop``) and the shape judge (``judge``, ``quality``) that ``tests/test_demo.py`` scores with.
"""

from __future__ import annotations

from pathlib import Path

JUDGE_PATH = Path(__file__).with_name("judge.safetensors")
