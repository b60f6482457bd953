"""Issue 24, fault 11: in marimo's editor a cell's output box is at most 610 px high and scrolls, so
the widget's scrubber, curve and filmstrip sat in a nested scroll area. The widget fits the box it
is given: everything shows without scrolling the output. Screenshot: ``artifacts/round2-marimo.png``.
The helpers are ``test_browser``'s, ``browser_looks``'s and ``test_browser_hosts``'s."""

import sys
import textwrap

import pytest
from browser_looks import OVERFLOW
from browser_servers import free_port, quiet_env, serve
from test_browser import ARTIFACTS
from test_browser_hosts import SETUP

pytest.importorskip("playwright.sync_api")

# The nearest box above the widget (across shadow roots) that limits its height and scrolls.
LIMIT = """(root) => {
  for (let n = root.parentElement ?? root.getRootNode().host; n; n = n.parentElement ?? n.getRootNode().host) {
    const s = getComputedStyle(n);
    if (s.maxHeight !== "none" && ["auto", "scroll"].includes(s.overflowY))
      return { max: s.maxHeight, client: n.clientHeight, scroll: n.scrollHeight };
  }
  return null;
}"""


@pytest.fixture(scope="module")
def marimo_edit(tmp_path_factory):
    pytest.importorskip("marimo")
    home = tmp_path_factory.mktemp("marimo-edit")
    body = textwrap.indent(SETUP.strip() + "\nimport marimo as mo\nview = mo.ui.anywidget(widget)\nview", "    ")
    (home / "app.py").write_text(
        "import marimo\n\napp = marimo.App()\n\n\n@app.cell\ndef _():\n" + body + "\n    return\n\n\n"
        'if __name__ == "__main__":\n    app.run()\n'
    )
    port = free_port()
    argv = [sys.executable, "-m", "marimo", "edit", str(home / "app.py"), "--headless", "--host", "127.0.0.1",
            "--port", str(port), "--no-token", "--skip-update-check"]  # fmt: skip
    with serve(argv, quiet_env(home), f"http://127.0.0.1:{port}/health", home):
        yield f"http://127.0.0.1:{port}"


def test_fault11_the_widget_fits_marimos_output_box(marimo_edit, browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.blank(1100, 1100) as page:
        page.goto(marimo_edit)
        page.locator(".cm-content").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        page.locator(".cm-content").first.click()
        page.keyboard.press("Control+Enter")  # run the cell
        widget = page.locator(".sdw")
        widget.get_by_role("button", name="Generate", exact=True).wait_for(timeout=120_000)
        widget.get_by_role("spinbutton", name="Steps").fill("12")
        widget.get_by_role("button", name="Generate", exact=True).click()
        widget.get_by_role("status").filter(has_text="finished").wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        limit = widget.evaluate(LIMIT)
        assert limit is not None, "marimo's editor no longer limits the output's height: this test checks nothing"
        assert limit["scroll"] <= limit["client"] + 1, f"the widget scrolls inside marimo's output box: {limit}"
        assert widget.evaluate(OVERFLOW) == []
        page.locator(".cm-content").first.click()  # the cell's editor, not the widget, has focus
        page.mouse.move(0, 0)
        widget.evaluate("el => el.scrollIntoView({ block: 'center' })")
        page.screenshot(path=str(ARTIFACTS / "round2-marimo.png"))
