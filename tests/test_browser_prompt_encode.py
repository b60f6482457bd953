"""A prompt edit's encoding in a browser: with a text encoder slowed to 1.5 s (what a large
language model as text encoder takes), Apply prompt on a held run shows "Encoding the new prompt…"
in the status region, counting up, then "Prompt encoded in 1.5 s; it applies from the next step";
the edit applies at the next step. JupyterLab with Debian's Chromium driven by Playwright.

Screenshots in ``artifacts/``: ``prompt-encoding`` (while it waits), ``prompt-encoded``.
"""

import re

import pytest
from browser_fixtures import notebook
from test_browser import ARTIFACTS, Session, wait_until

pytest.importorskip("playwright.sync_api")

SLEEP = 1.5
SETUP = f"""import os, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sdwidget import SamplerWidget, demo_pipeline
widget = SamplerWidget(demo_pipeline(), prompt="a red star on a blue background", steps=12, guidance=5.0, pace=0)
family, encode = widget.runner.family, widget.runner.family.encode
family.encode = lambda *args: (time.sleep({SLEEP}), encode(*args))[1]  # an LLM text encoder's wait
widget.breakpoints = [4]
widget"""


@pytest.fixture(scope="module")
def jl(browsers):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsers.page("encode.ipynb", notebook(SETUP)) as page:
        page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
        yield Session(page)


def test_apply_prompt_counts_the_encoding_up_then_says_how_long_it_took(jl):
    page = jl.page
    jl.generate.click()
    wait_until(lambda: jl.kernel("widget.status") == "'paused'", timeout=60, what="held at step 4")
    jl.prompt.fill("a yellow circle on a black background")
    page.get_by_role("button", name="Apply prompt").click()
    line = jl.status.locator(".sdw-encoding")
    line.wait_for(state="visible", timeout=2_000)
    assert line.inner_text().startswith("Encoding the new prompt…")
    page.wait_for_timeout(700)
    counted = float(re.search(r"([\d.]+) s", line.inner_text()).group(1))
    assert 0.5 <= counted < SLEEP, line.inner_text()
    assert line.locator("[aria-hidden=true]").count() == 1, "the count is not announced every tenth of a second"
    jl.widget.screenshot(path=str(ARTIFACTS / "prompt-encoding.png"))
    page.wait_for_function(
        "document.querySelector('.sdw-encoding').textContent.startsWith('Prompt encoded')", timeout=10_000
    )
    text = line.inner_text()
    seconds = float(re.fullmatch(r"Prompt encoded in ([\d.]+) s; it applies from the next step", text).group(1))
    assert SLEEP <= seconds < SLEEP + 1.0, text
    jl.widget.screenshot(path=str(ARTIFACTS / "prompt-encoded.png"))
    page.get_by_role("button", name="Resume").click()
    wait_until(lambda: jl.kernel("widget.status") == "'finished'", timeout=60, what="the run finished")
    prompts = jl.kernel("[(c['step'], c['prompt']) for c in widget.runner.run.prompts]")
    assert prompts == "[(4, 'a yellow circle on a black background')]", prompts
