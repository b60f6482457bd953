"""Servers for the browser tests: a free port, a quiet environment of its own, a server started until
it answers (JupyterLab in ``browser_fixtures``, marimo in the marimo tests)."""

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env(home: Path) -> dict:
    """A server environment of its own: offline, its own Jupyter config, no hot reload, and
    sdwidget importable from this checkout in kernels started anywhere."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}  # fmt: skip
    env.pop("ANYWIDGET_HMR", None)
    # No "get Jupyter news?" toast over the widget in a screenshot, and no autosave of the
    # notebook the test runs (its outputs would be written into the repository).
    settings = home / "settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    (settings / "docmanager-extension").mkdir(parents=True)
    (settings / "docmanager-extension" / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "settings")
    return env


@contextlib.contextmanager
def serve(argv: list[str], env: dict, ready_url: str, home: Path, timeout: float = 120):
    """A server started, once ``ready_url`` answers; stopped on leaving."""
    log = (home / "server.log").open("w")
    server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (home / "server.log").read_text()[-3000:]
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
