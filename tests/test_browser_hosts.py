"""The widget in the other front ends anywidget runs in: Notebook 7 and marimo (``mo.ui.anywidget``),
each in Debian's Chromium driven by Playwright, each with the embedded demo model.

In each: the widget renders, a run paints frames, the arrow keys move the Guidance slider, pause
holds the run and resume goes on, stop ends it, and the scrubber shows any step and, at its end,
the final image. A screenshot per host is left in ``artifacts/`` (``notebook7.png``, ``marimo.png``).
Notebook 7 is the shared JupyterLab server's (``browsers``); the checks are ``browser_looks``'s.
"""

import sys
import textwrap
import time

import pytest
from browser_fixtures import notebook
from browser_looks import OVERFLOW
from browser_servers import free_port, quiet_env, serve
from test_browser import ARTIFACTS

pytest.importorskip("playwright.sync_api")

PROMPT = "a red star on a blue background"
SETUP = f"""
import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt={PROMPT!r}, steps=300, guidance=5.0)
"""


def drive(page, name):
    """What every host must do; ``page`` shows the widget (maybe in a shadow root: Playwright's
    locators pierce open ones)."""
    widget = page.locator(".sdw")
    generate = page.get_by_role("button", name="Generate")
    generate.wait_for(timeout=120_000)
    status = widget.get_by_role("status")
    preview = page.get_by_alt_text("Live preview")
    data = lambda key: widget.evaluate(f"el => el.dataset.{key}")  # noqa: E731
    assert widget.evaluate(OVERFLOW) == []

    generate.click()
    status.filter(has_text="running").wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while int(data("paints") or 0) < 5:
        assert time.monotonic() < deadline, "no frames painted"
        page.wait_for_timeout(100)
    first = preview.get_attribute("src")
    page.wait_for_timeout(500)
    assert preview.get_attribute("src") != first, "the live preview follows the run"

    guidance = page.get_by_role("slider", name="Guidance", exact=True)
    guidance.focus()
    guidance.press("ArrowRight")
    guidance.press("ArrowRight")
    assert guidance.input_value() == "5.2", "the arrow keys move the slider, whatever the host binds them to"

    page.get_by_role("button", name="Pause").click()
    status.filter(has_text="paused").wait_for(timeout=30_000)
    held = status.text_content()
    page.wait_for_timeout(1500)
    assert status.text_content() == held, "a paused run holds"
    page.get_by_role("button", name="Resume").click()
    status.filter(has_text="running").wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Stop").click()
    status.filter(has_text="stopped").wait_for(timeout=30_000)
    assert "guidance 5.0 → 5.2" in widget.locator(".sdw-details").text_content()

    def wait_data(key, value):
        deadline = time.monotonic() + 30
        while data(key) != value:
            assert time.monotonic() < deadline, f"{key} is {data(key)!r}, not {value!r}"
            page.wait_for_timeout(50)

    wait_data("shownStep", "final")
    scrub = page.get_by_role("slider", name="Step", exact=True)
    scrub.fill("1")
    wait_data("shownStep", "1")
    scrub.focus()
    scrub.press("ArrowRight")
    wait_data("shownStep", "2")
    scrub.press("End")
    wait_data("shownStep", "final")
    assert "final image" in widget.locator(".sdw-caption").first.text_content()
    widget.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_widget_in_notebook_7(browsers):
    pytest.importorskip("notebook")
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page(
        "widget.ipynb", notebook(SETUP.strip() + "\nwidget"), app="notebooks", width=1100, height=1100
    ) as page:
        # Notebook 7 takes the arrow keys in command mode, as JupyterLab does.
        drive(page, "notebook7")


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory):
    pytest.importorskip("marimo")
    home = tmp_path_factory.mktemp("marimo")
    body = textwrap.indent(SETUP.strip() + "\nimport marimo as mo\nview = mo.ui.anywidget(widget)\nview", "    ")
    (home / "app.py").write_text(
        "import marimo\n\napp = marimo.App()\n\n\n@app.cell\ndef _():\n" + body + "\n    return\n\n\n"
        'if __name__ == "__main__":\n    app.run()\n'
    )
    port = free_port()
    argv = [sys.executable, "-m", "marimo", "run", str(home / "app.py"), "--headless", "--host", "127.0.0.1",
            "--port", str(port), "--no-token", "--no-sandbox", "--no-check"]  # fmt: skip
    with serve(argv, quiet_env(home), f"http://127.0.0.1:{port}/health", home):
        yield f"http://127.0.0.1:{port}"


def test_widget_in_marimo(marimo_app, browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.blank(1100, 1100) as page:
        page.goto(marimo_app)
        drive(page, "marimo")
