"""Where the browser code comes from: the esbuild bundle of ``js/src``, as text.

In a wheel the bundle and the stylesheet sit in ``sdwidget/widget/static``; in a source checkout
they are read from ``js/``. They are handed to anywidget as strings, not paths: a path makes
anywidget keep a file watcher whose signal holds every widget ever created alive
(manzt/anywidget#929). Contributors who set ``ANYWIDGET_HMR=1`` get the path, and with
``npm run watch --prefix js`` the page reloads the front end as they edit it.
"""

from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).parent
_CHECKOUT = _HERE.parent.parent / "js"
BUNDLE, CSS = (
    (_HERE / "static" / "widget.js", _HERE / "static" / "widget.css")
    if (_HERE / "static").is_dir()
    else (_CHECKOUT / "dist" / "widget.js", _CHECKOUT / "widget.css")
)


def _source(path: Path) -> str | Path:
    return path if os.environ.get("ANYWIDGET_HMR") == "1" else path.read_text()


def esm() -> str | Path:
    """The front end's ES module: text, or its path for hot reload."""
    return _source(BUNDLE)


def css() -> str | Path:
    return _source(CSS)
