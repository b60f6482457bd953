"""The guidance interval where the widget's first version left gaps: each run of the history (and a
loaded gallery) carries its interval, so its chart is shaded when picked; the run details say where
guidance applied (``detailsText`` in js/src/form.js, run in node); ``SamplerWidget.set_guidance_interval``
from Python; an interval moved with ``Runner.set_guidance_interval`` shows in the trait."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_widget import GENERATE, Browser, wait_for

from sdwidget import Gallery, RunStatus, SamplerWidget
from sdwidget.testing import tiny_modular_sdxl_pipeline

FORM = Path(__file__).resolve().parent.parent / "js" / "src" / "form.js"


def finished(widget, run):
    run.wait()
    wait_for(
        lambda: widget.run_id == run.id and widget.status == "finished" and widget.runs[-1]["status"] == "finished"
    )
    return widget.runs[-1]


def test_history_entries_carry_their_interval_and_a_gallerys_is_checked(sd_pipe, tmp_path):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "interval", "first": 3, "end": 9})
    browser.say(GENERATE)
    entry = finished(widget, widget.runner.run)
    assert entry["guidance_interval"] == [3, 9]
    browser.say({"type": "interval", "first": None, "end": None})
    browser.say(GENERATE)
    finished(widget, widget.runner.run)
    assert [entry["guidance_interval"] for entry in widget.runs] == [[3, 9], None], "the older run keeps its own"
    gallery = Gallery.from_run(widget.runner.history[0])
    gallery.save(tmp_path / "g")
    widget.add_gallery(tmp_path / "g")
    assert widget.runs[-1]["source"] == "gallery g" and widget.runs[-1]["guidance_interval"] == [3, 9]
    record = json.loads((tmp_path / "g" / "run.json").read_text())
    record["params"]["guidance_interval"] = [3, 99]  # past its 12 steps: no shading rather than a wrong one
    (tmp_path / "g" / "run.json").write_text(json.dumps(record))
    widget.add_gallery(tmp_path / "g")
    assert widget.runs[-1]["guidance_interval"] is None


def test_set_guidance_interval_from_python_is_the_handles(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    assert widget.set_guidance_interval(2, 5) == [2, 5] and widget.guidance_interval == [2, 5]
    browser.say({"type": "breakpoints", "steps": [3]})
    browser.say(GENERATE)
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED)
    assert widget.set_guidance_interval(2, 8) == [2, 8], "the running run's, from its next step"
    with pytest.raises(ValueError, match="Guidance interval: guidance_interval's end step must be between 3 and 12"):
        widget.set_guidance_interval(2, 13)
    run.resume()
    finished(widget, run)
    assert run.guidance == [1.0] * 2 + [5.0] * 6 + [1.0] * 4 and widget.guidance_interval == [2, 8]
    assert widget.set_guidance_interval(None, None) == [], "every step, for the next run"


def test_an_interval_moved_from_the_runner_shows_in_the_trait_at_the_next_event(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [3]})
    browser.say(GENERATE)
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED)
    assert widget.guidance_interval == []
    widget.runner.set_guidance_interval(4, 10)  # from Python, not through the widget
    assert widget.guidance_interval == [], "nothing has happened on the run yet"
    run.resume()
    finished(widget, run)
    assert widget.guidance_interval == [4, 10] and run.guidance == [5.0] * 3 + [1.0] + [5.0] * 6 + [1.0] * 2
    assert widget.set_guidance_interval(1, 3) == [1, 3], "the next run's, once this one has ended"


def test_a_modular_guiders_interval_cleared_for_the_next_run_is_every_step_again():
    widget = SamplerWidget(tiny_modular_sdxl_pipeline(), pace=0, steps=8)
    widget.set_guidance_interval(2, 6)
    assert (widget.knob_values["start"], widget.knob_values["stop"]) == (0.25, 0.75)
    assert widget.set_guidance_interval(None, None) == []
    assert (widget.knob_values["start"], widget.knob_values["stop"]) == (0.0, 1.0), "the guider's own start and stop"
    Browser(widget).say({**GENERATE, "steps": 8})
    entry = finished(widget, widget.runner.run)
    assert all(step.cfg for step in widget.runner.run.steps) and entry["guidance_interval"] is None


DETAILS = """
const { detailsText } = await import(process.env.FORM_URL);
const base = { prompt: "a red star", steps: 12, seed: 4, knobs: {} };
const guidance = [1, 1, 1, 5, 5, 5, 7, 7, 7, 1, 1, 1];
console.log(JSON.stringify([
  detailsText({ ...base, guidance, guidance_interval: [3, 9] }),
  detailsText({ ...base, guidance: [1, 1], guidance_interval: [3, 9], asked: 6.5 }),
  detailsText({ ...base, guidance: [1], guidance_interval: [3, 9] }),
  detailsText({ ...base, guidance: [5, 7], guidance_interval: null }),
  detailsText({ ...base, guidance: [], guidance_scale: 4 }),
]));
"""


def test_the_details_say_the_guidance_where_the_interval_applied():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    env = {"FORM_URL": FORM.as_uri(), "PATH": str(Path(node).parent)}
    done = subprocess.run([node, "--input-type=module", "-e", DETAILS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    texts = [text.split(" · seed 4")[1] for text in json.loads(done.stdout)]
    assert texts == [
        " · guidance 5.0 → 7.0 at steps 4–9",
        " · guidance 6.5 at steps 4–9",  # a live run before its interval: the value asked for
        " · guidance at steps 4–9",  # stopped before it
        " · guidance 5.0 → 7.0",
        " · guidance 4.0",
    ]
