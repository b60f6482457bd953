"""The package's shape: rooms import downward only, and ``import sdwidget`` stays lean."""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sdwidget"
# Each room and the rooms it may import from (widget → gallery → core → families, preview; demo → preview).
ALLOWED = {
    "preview": set(),
    "families": set(),
    "core": {"preview", "families"},
    "gallery": {"core", "preview"},
    "widget": {"gallery", "core", "preview"},
    "demo": {"preview"},
    "sweep": {"gallery", "core", "preview", "demo"},
    "check": set(),  # python -m sdwidget check: the public API only (sdwidget.Runner, sdwidget.testing)
}


def imported_rooms(path: Path) -> set[tuple[str, str]]:
    """(room imported, first name after it) for every relative import of a sibling room."""
    room_depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > room_depth:
            parts = (node.module or "").split(".")
            names = [alias.name for alias in node.names]
            found |= {(parts[0], names[0] if len(parts) == 1 else parts[1])} if parts[0] else {(n, "") for n in names}
    return found


def test_rooms_import_downward_only_and_only_what_a_room_exposes():
    for room, allowed in ALLOWED.items():
        for path in (PACKAGE / room).rglob("*.py"):
            for other, name in imported_rooms(path):
                if other == room or other not in ALLOWED:
                    continue
                assert other in allowed, f"{path.relative_to(PACKAGE)} imports {other}: rooms import downward only"
                assert not name.startswith("_"), f"{path.relative_to(PACKAGE)} reaches into {other}.{name}"
    assert all(imported_rooms(path) for path in (PACKAGE / "widget").glob("widget.py")), "the check sees imports"


def test_import_sdwidget_loads_no_training_code_test_helpers_or_jupyterlab():
    code = "import json, sys, sdwidget; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert "sdwidget.core" in loaded and "sdwidget.widget" in loaded, "the check sees sdwidget's own modules"
    unwanted = [m for m in loaded if m.startswith(("sdwidget.demo.training", "sdwidget.testing", "jupyterlab"))]
    assert unwanted == []


def test_public_api_is_what_a_user_needs():
    import sdwidget

    assert "tiny_pipeline" not in sdwidget.__all__ and not any(name.startswith("_") for name in sdwidget.__all__)
    assert {"Runner", "Run", "SamplerWidget", "Gallery", "demo_pipeline", "Preview"} <= set(sdwidget.__all__)
    assert all(hasattr(sdwidget, name) for name in sdwidget.__all__)
