"""End to end in a real browser: JupyterLab on localhost, Debian's Chromium driven by Playwright.

Opens the quickstart notebook, runs it, and drives the widget through its accessible names.
Leaves a screenshot of the finished widget in ``artifacts/`` and prints the median delay between
a step's callback in the kernel and its frame painted in the page.
"""

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    home = tmp_path_factory.mktemp("lab")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws")}  # fmt: skip
    env.pop("ANYWIDGET_HMR", None)
    # No "get Jupyter news?" toast over the widget in the screenshot (and no request for news).
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "settings")
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True", "--allow-root",
         f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, (home / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
    yield url, token
    server.terminate()
    server.wait(30)
    log.close()


KERNEL_EVAL = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  let out = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "execute_result") out = msg.content.data["text/plain"];
    if (msg.header.msg_type === "error") out = "ERROR " + msg.content.evalue;
  };
  await future.done;
  return out;
}"""


def test_widget_in_jupyterlab(lab):
    url, token = lab
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{url}/lab/tree/notebooks/quickstart.ipynb?token={token}")
        page.wait_for_function(
            "window.jupyterapp && window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel",
            timeout=120_000,
        )
        page.wait_for_function(
            "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'", timeout=120_000
        )
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        def kernel(code):
            return page.evaluate(KERNEL_EVAL, code)

        generate = page.get_by_role("button", name="Generate")
        generate.wait_for(timeout=120_000)
        widget = page.locator(".sdw")
        status = page.get_by_role("status").filter(has_text="Step")
        preview = page.get_by_alt_text("Live preview")
        page.get_by_role("spinbutton", name="Steps").fill("600")  # time enough to steer by hand
        generate.click()
        page.wait_for_function("document.querySelector('.sdw').dataset.paints >= 5", timeout=60_000)
        sources = set()
        for _ in range(40):
            sources.add(preview.get_attribute("src"))
            if len(sources) >= 5:
                break
            page.wait_for_timeout(100)
        assert len(sources) >= 5, "the live preview must change at least five times"

        page.get_by_role("slider", name="Guidance").fill("2")
        deadline = time.monotonic() + 20
        result = None
        while time.monotonic() < deadline:
            result = kernel("r = widget.runner.run; (r.requests, r.guidance)")
            if result and "2.0" in result.split("], [")[0]:
                break
            page.wait_for_timeout(200)
        page.wait_for_timeout(1500)
        check = kernel(
            "r = widget.runner.run; seen, value = r.requests[-1]; g = r.guidance; k = g.index(2.0);"
            "(k in (seen, seen + 1), g[k - 1] == 5.0, set(g[k:]) == {2.0}, k, seen)"
        )
        assert check.startswith("(True, True, True"), check

        page.get_by_role("button", name="Pause").click()
        page.wait_for_function("document.querySelector('[role=status]').textContent.includes('paused')")
        held = status.text_content()
        page.wait_for_timeout(2000)
        assert status.text_content() == held and "paused" in held
        assert kernel("len(widget.runner.run.steps)") == held.split()[1]
        page.get_by_role("button", name="Resume").click()
        page.wait_for_function("document.querySelector('[role=status]').textContent.includes('running')")
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function(
            "document.querySelector('[role=status]').textContent.includes('stopped')", timeout=30_000
        )
        sizes = kernel("r = widget.runner.run; r.image.size[0], r.frames[0].size[0]")
        final_width, frame_width = (int(v) for v in sizes.strip("()").split(","))
        page.wait_for_function(f"document.querySelector('img[alt=\"Live preview\"]').naturalWidth === {final_width}")
        assert kernel("widget.runner.run.status.value") == "'stopped'"
        page.wait_for_timeout(500)

        page.get_by_role("slider", name="Step").fill("1")
        page.wait_for_function("document.querySelector('.sdw').dataset.shownStep === '1'")
        assert page.evaluate("document.querySelector('img[alt=\"Live preview\"]').naturalWidth") == frame_width
        recorded = int(kernel("len(widget.runner.run.steps)"))
        strip = page.get_by_role("list", name="Filmstrip").get_by_role("listitem")
        assert strip.count() == recorded
        strip.nth(2).click()
        page.wait_for_function("document.querySelector('.sdw').dataset.shownStep === '3'")
        first_id = kernel("widget.runner.run.id")

        # A short second run, then the first one beside it on the shared scrubber.
        page.get_by_role("spinbutton", name="Steps").fill("10")
        page.get_by_role("textbox", name="Prompt", exact=True).fill(
            "a small green ring at the top left on a white background"
        )
        generate.click()
        page.wait_for_function("document.querySelector('[role=status]').textContent.includes('Step 10 / 10')")
        page.wait_for_function("document.querySelector('[role=status]').textContent.includes('finished')")
        page.get_by_role("combobox", name="Compare with").select_option(first_id)
        compared = page.get_by_alt_text("Compared preview")
        compared.wait_for(state="visible")
        page.get_by_role("slider", name="Step").fill("4")
        page.wait_for_function("document.querySelector('.sdw').dataset.shownStep === '4'")
        page.wait_for_function("document.querySelector('.sdw').dataset.compareStep === '4'")
        assert compared.evaluate("img => img.naturalWidth") == frame_width

        # Save the first run's gallery into a folder the kernel chose; the browser names no path.
        kernel("import tempfile; widget.gallery_dir = tempfile.mkdtemp()")
        page.get_by_role("combobox", name="Run").select_option(first_id)
        page.wait_for_function(f"document.querySelector('.sdw').dataset.shownRun === '{first_id}'")
        page.get_by_role("button", name="Save gallery").click()
        widget.get_by_text("Saved gallery", exact=False).filter(has_text="-run").wait_for()
        saved = kernel(
            "import os; from sdwidget import Gallery; "
            "g = Gallery.load(os.path.join(widget.gallery_dir, widget.saved)); (g.run_id, len(g.frames))"
        )
        assert saved == f"({first_id}, {recorded})", saved
        widget.screenshot(path=str(artifacts / "widget.png"))

        latencies = page.evaluate("window.sdwidgetStats.latencies")
        median = statistics.median(latencies)
        (artifacts / "latency.json").write_text(json.dumps({"median_ms": median, "frames": len(latencies)}))
        print(f"\nkernel step callback -> painted frame: median {median:.1f} ms over {len(latencies)} frames")
        browser.close()
