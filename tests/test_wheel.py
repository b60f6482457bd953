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
    code = "import sdwidget, sdwidget._traits as w; print(sdwidget.__file__); print(w._STATIC)"
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert out[0].startswith(str(env)), "the wheel, not the checkout, must be imported"
    static = Path(out[1])
    model = ROOT / "sdwidget" / "demo" / "model"
    for path in [*model.rglob("*.*"), ROOT / "sdwidget" / "demo" / "judge.safetensors"]:
        shipped = Path(out[0]).parent / path.relative_to(ROOT / "sdwidget")
        assert shipped.read_bytes() == path.read_bytes(), f"the wheel must ship the demo model: {path.name}"
    assert static == Path(out[0]).parent / "static"
    sources = sorted(p.name for p in (ROOT / "js").iterdir())
    assert sources == ["dom.js", "frames.js", "panel.js", "widget.css", "widget.js"]
    assert sorted(p.name for p in static.iterdir()) == sources
    for name in sources:
        shipped = (static / name).read_bytes()
        assert shipped == (ROOT / "js" / name).read_bytes() and len(shipped) > 500
