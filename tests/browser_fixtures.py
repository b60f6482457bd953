"""One JupyterLab server, one kernel and one Chromium for every browser test file (``browsers`` in
``tests/conftest.py``): each costs 10 to 30 s to start on a busy 2-core machine, the kernel's import
of sdwidget, diffusers and torch most. Each file still gets a notebook, a page and a widget of its own.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_servers import free_port, quiet_env, serve

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
# The same server shows Notebook 7 at /notebooks/ (the notebook package is a server extension).
LAB_FLAGS = ["--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]  # fmt: skip
IDLE = "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
# Every widget in the kernel stops its run when a file is done with it: a run left going would slow the next file.
STOP_ALL = """from sdwidget import SamplerWidget as _W
for _w in [v for v in list(globals().values()) if isinstance(v, _W)]:
    if _w.runner.run is not None and not _w.runner.run.done: _w.runner.run.stop(); _w.runner.run.wait()"""


def notebook(*cells: str) -> dict:
    """A notebook of these code cells, on the python3 kernel."""
    code = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells]
    return {"cells": code, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


class Browsers:
    """The shared server (its root a temporary folder, ``root``), kernel and Chromium, each started
    at first use; ``close()`` ends them (conftest calls it after the last browser test in a row:
    Playwright's sync API holds an event loop that refuses ``asyncio.run`` to the tests after)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp = tmp_path_factory
        self.root = tmp_path_factory.mktemp("lab-root")
        self.stack: contextlib.ExitStack | None = None

    def start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.stack = contextlib.ExitStack()
        home, port, self.token = self.tmp.mktemp("jupyterlab"), free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}", "--allow-root", f"--ServerApp.root_dir={self.root}",
                *LAB_FLAGS]  # fmt: skip
        self.stack.enter_context(serve(argv, quiet_env(home), f"{self.url}/api/status?token={self.token}", home))
        # Boots while Chromium starts; its working folder is ``root`` (path "" there), every notebook's own.
        self.kernel = self.api("POST", "/api/kernels", {"name": "python3", "path": ""})["id"]
        self.chromium = self.stack.enter_context(sync_playwright()).chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, headless=True
        )

    def close(self) -> None:
        stack, self.stack = self.stack, None
        if stack is not None:
            stack.close()

    def api(self, method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}?token={self.token}", json.dumps(body).encode(), method=method
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)

    @contextlib.contextmanager
    def page(
        self, name: str, nb: dict | None = None, app: str = "lab", width: int = 1300, height: int = 1000
    ) -> Iterator[Page]:
        """A new page on notebook ``name`` (written from ``nb`` unless it is already in ``root``),
        on the shared kernel, its cells run; in JupyterLab a workspace of its own (no other file's
        tabs restored), no side panels, the light theme. The page's widgets stop their runs after."""
        if nb is not None:
            (self.root / name).write_text(json.dumps(nb))
        with self.blank(width, height) as page:
            self.api("POST", "/api/sessions", {"path": name, "type": "notebook", "name": name,
                                               "kernel": {"id": self.kernel}})  # fmt: skip
            where = f"lab/workspaces/{Path(name).stem}/tree" if app == "lab" else "notebooks"
            page.goto(f"{self.url}/{where}/{name}?token={self.token}")
            page.wait_for_function(IDLE, timeout=120_000)
            if app == "lab":
                page.evaluate("window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight()")
                light(page)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                yield page
            finally:
                with contextlib.suppress(Exception):
                    page.evaluate("(code) => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                                  ".requestExecute({ code, store_history: false }).done", STOP_ALL)  # fmt: skip

    @contextlib.contextmanager
    def blank(self, width: int = 1300, height: int = 1000) -> Iterator[Page]:
        """A new page of its own (no cookies or storage from another file's) in the shared Chromium."""
        if self.stack is None:
            self.start()
        context = self.chromium.new_context(viewport={"width": width, "height": height})
        try:
            yield context.new_page()
        finally:
            context.close()


def light(page: Page) -> None:
    """JupyterLab's light theme, as every file expects at its start (the theme is a server-wide setting)."""
    if page.evaluate("document.body.dataset.jpThemeLight") == "false":
        page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=30_000)


def reopened(page: Page) -> None:
    """The notebook saved (its widgets' state with it) and the page reloaded: the notebook back from
    its workspace on the live kernel, no cell run."""
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save').then(() => null)")
    page.reload()
    page.wait_for_function(IDLE, timeout=120_000)
    page.get_by_role("button", name="Generate").first.wait_for(timeout=120_000)


# Resolves once the element's box, its colours and the window's width have held for five frames.
SETTLE = """async (el) => {
  const look = () => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return [r.x, r.y, r.width, r.height, el.scrollWidth, s.color, s.backgroundColor, innerWidth].join(); };
  for (let last = look(), now, same = 0, i = 0; same < 5 && i < 300; i++, last = now) {
    await new Promise((r) => requestAnimationFrame(r));
    now = look();
    same = now === last ? same + 1 : 0;
  }
}"""


def settled(widget: Locator) -> None:
    """The layout at rest around ``widget`` after a new window size or theme: a poll, not a sleep."""
    widget.first.evaluate(SETTLE)
