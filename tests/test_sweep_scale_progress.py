"""One overall progress line from the main process (issue #28 item 7): items done of all
processes, images/s, time left; plain lines when stderr is not a terminal; no loading bars."""

import io
import re

from test_sweep_scale import ThreadGroup, gallery  # noqa: F401 - the fixture, shared

from sdwidget import demo_pipeline
from sdwidget.sweep import sweep
from sdwidget.sweep.model import load
from sdwidget.sweep.progress import Progress, Reporter


def test_two_processes_show_one_line_counting_both(gallery, tmp_path, monkeypatch, capsys):  # noqa: F811
    models, seen = [demo_pipeline(), demo_pipeline()], [[], []]
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: sweep(
        gallery, seeds="0:4", out=tmp_path / "out", model=models[rank], steps=2,
        callback=lambda p: seen[rank].append((p.done, p.total))))  # fmt: skip
    assert errors == [None, None], errors
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and all(line.startswith("sweep: ") for line in lines), err
    assert lines[-1].startswith("sweep: 4/4 images · ") and lines[-1].endswith(" · 2 processes"), err
    assert len(lines) <= 3, "a line per item at most every 10 s, and the last"
    assert all(total == 4 for _, total in seen[0] + seen[1]) and len(seen[0]) == len(seen[1]) == 2
    assert not list((tmp_path / "out").glob(".progress-*")), "the counts are cleared at the end"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_in_a_terminal_the_line_is_rewritten_and_says_time_left(tmp_path):
    out = Terminal()
    reporter = Reporter(Progress(0, 1, 3), tmp_path, show=True, callback=None, stream=out)
    reporter.progress.started -= 2.0  # two seconds in
    reporter.item(failed=False)
    # Two seconds and the time the test itself took (a busy machine: 0.47 img/s once): about 0.5.
    assert re.match(r"\rsweep: 1/3 images · 0\.(4[0-9]|50) img/s · [45] s left", out.getvalue()), out.getvalue()
    reporter.item(failed=True)
    reporter.item(failed=False)
    reporter.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and "sweep: 3/3 images" in text.split("\r")[-1]
    assert "1 failed" in text.split("\r")[-1] and "left" not in text.split("\r")[-1]


def test_loading_a_model_folder_shows_no_loading_bar(sd_pipe, tmp_path, capfd):
    from diffusers.utils import logging

    sd_pipe.save_pretrained(tmp_path / "model")
    capfd.readouterr()
    pipe = load(str(tmp_path / "model"), "cpu", "float32")
    assert "Loading pipeline components" not in capfd.readouterr().err and pipe.unet is not None
    assert logging.is_progress_bar_enabled(), "put back for the rest of the process"
