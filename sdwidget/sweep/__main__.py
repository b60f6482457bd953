"""``python -m sdwidget.sweep ...``: the sweep's command line, reachable without ``sdwidget.__main__``
(``accelerate launch -m sdwidget.sweep ...`` too)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
