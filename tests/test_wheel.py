"""The built wheel carries the front end, so a user needs no Node.js."""

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_widget_front_end(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT], check=True)
    wheel = next(tmp_path.glob("sdwidget-*.whl"))
    env = tmp_path / "env"
    venv.create(env, system_site_packages=True, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", wheel], check=True)
    code = "import sdwidget, sdwidget.widget.frontend as f; print(sdwidget.__file__); print(f.BUNDLE); print(f.CSS)"
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert out[0].startswith(str(env)), "the wheel, not the checkout, must be imported"
    package = Path(out[0]).parent
    model = ROOT / "sdwidget" / "demo" / "model"
    for path in model.rglob("*.*"):
        shipped = package / path.relative_to(ROOT / "sdwidget")
        assert shipped.read_bytes() == path.read_bytes(), f"the wheel must ship the demo model: {path.name}"
    static = package / "widget" / "static"
    assert [Path(out[1]), Path(out[2])] == [static / "widget.js", static / "widget.css"]
    assert sorted(p.name for p in static.iterdir()) == ["widget.css", "widget.js"]
    for shipped, source in [
        (static / "widget.js", ROOT / "js" / "dist" / "widget.js"),
        (static / "widget.css", ROOT / "js" / "widget.css"),
    ]:
        assert shipped.read_bytes() == source.read_bytes() and len(shipped.read_bytes()) > 500
