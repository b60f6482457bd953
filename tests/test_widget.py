"""The widget without a browser: capture what it sends, play the browser with its message handler."""

import io
import threading
import time

import numpy as np
from conftest import at_step
from PIL import Image

from sdwidget import Gallery, Runner, RunStatus, SamplerWidget
from sdwidget.widget.sender import WINDOW


class Browser:
    """Records custom messages; acks them like the front end does, or not (a stalled page)."""

    def __init__(self, widget, ack=True):
        self.widget, self.ack, self.messages = widget, ack, []
        self.lock = threading.Lock()
        widget.send = self.receive

    def receive(self, msg, buffers=None):
        with self.lock:
            self.messages.append((msg, list(buffers or [])))
        if self.ack and msg["type"] == "frames":
            self.say({"type": "ack", "run": msg["frames"][0]["run"]})

    def say(self, content):
        self.widget._on_message(self.widget, content, [])

    def frames(self, kind="frames"):
        picked = [(msg["frames"], bufs) for msg, bufs in self.messages if msg["type"] == kind]
        # A history reply may carry the run's final image after its frames.
        return [pair for metas, bufs in picked for pair in zip(metas, bufs[: len(metas)], strict=True)]


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


GENERATE = {"type": "generate", "prompt": "a red star", "negative_prompt": "", "steps": 12, "seed": 4, "guidance": 5.0}


def test_browser_generate_streams_one_png_per_step_and_sets_state(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say(GENERATE)
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished")
    frames = browser.frames()
    assert [meta["step"] for meta, _ in frames] == list(range(12))
    assert all(buf[:8] == b"\x89PNG\r\n\x1a\n" and len(buf) < 4000 for _, buf in frames)
    assert widget.step == 12 and widget.total == 12 and widget.applied == [5.0] * 12
    assert widget.image[:8] == b"\x89PNG\r\n\x1a\n" and widget.seed == 4 and widget.message == ""
    assert "frames" not in widget.get_state(), "frames travel as messages, never as traits"


def test_guidance_from_the_browser_applies_at_the_next_step(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    gate = threading.Event()
    at_step(widget.runner, 3, lambda run: gate.wait(10))
    browser.say(GENERATE)
    wait_for(lambda: len(widget.runner.run.steps) == 4)
    browser.say({"type": "guidance", "value": 0.5})
    gate.set()
    widget.runner.run.wait()
    wait_for(lambda: widget.status == "finished")
    assert widget.applied == [5.0] * 4 + [0.5] * 8 and widget.guidance == 0.5


HOSTILE = [
    {"type": "guidance", "value": "7"},
    {"type": "guidance", "value": float("nan")},
    {"type": "guidance", "value": 1e308},
    {"type": "launch_missiles"},
    ["not", "an", "object"],
    {**GENERATE, "steps": -3},
    {**GENERATE, "prompt": "x" * 100_000},
    {**GENERATE, "path": "/etc/passwd"},
    {"type": "ack", "run": "x"},
]


def test_hostile_messages_are_refused_visibly_and_the_run_goes_on(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({**GENERATE, "steps": 30})
    for content in HOSTILE:
        widget.message = ""
        browser.say(content)
        assert widget.message, f"no refusal shown for {content!r:.60}"
    browser.say(GENERATE)  # a second generate while running is refused too
    assert "a run is going; press Stop" in widget.message
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished")
    assert run.status is RunStatus.FINISHED and len(run.steps) == 30 and widget.applied == [5.0] * 30
    assert len(browser.frames()) == 30


def test_a_stalled_browser_gets_batches_and_loses_no_frame(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget, ack=False)
    browser.say({**GENERATE, "steps": 20})
    widget.runner.run.wait()
    wait_for(lambda: widget.status == "finished")
    messages = [msg for msg, _ in browser.messages if msg["type"] == "frames"]
    assert len(messages) < 20, "without acks, frames must be batched, not sent one by one"
    assert len(messages) >= WINDOW
    assert [meta["step"] for meta, _ in browser.frames()] == list(range(20))


def test_a_late_view_gets_the_history_once_on_request(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say(GENERATE)
    widget.runner.run.wait()
    wait_for(lambda: widget.status == "finished")
    browser.say({"type": "sync"})
    history = browser.frames("history")
    assert [meta["step"] for meta, _ in history] == list(range(12))
    assert [buf for _, buf in history] == [buf for _, buf in browser.frames()]


def test_pause_and_stop_from_the_browser(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    at_step(widget.runner, 2, lambda run: run.pause())
    browser.say({**GENERATE, "steps": 20})
    wait_for(lambda: widget.status == "paused")
    held = widget.step
    time.sleep(0.5)
    assert widget.step == held == 3
    browser.say({"type": "stop"})
    widget.runner.run.wait()
    wait_for(lambda: widget.status == "stopped")
    assert widget.image and len(browser.frames()) == 3


def test_front_end_is_given_to_anywidget_as_text_unless_hot_reloading(monkeypatch):
    from sdwidget.widget import frontend

    assert "export" in frontend.esm() and frontend.BUNDLE.stat().st_size > 5000
    assert isinstance(SamplerWidget._esm, str) and isinstance(SamplerWidget._css, str), "a Path leaks (anywidget#929)"
    monkeypatch.setenv("ANYWIDGET_HMR", "1")
    assert frontend.esm() == frontend.BUNDLE and frontend.css() == frontend.CSS


def finished_run(widget, browser, **fields):
    browser.say({**GENERATE, **fields})
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == run.status.value and widget.runs[-1]["status"] == run.status.value)
    return run


def test_save_gallery_button_writes_under_the_kernel_chosen_folder(sd_pipe, tmp_path):
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path / "galleries"))
    browser = Browser(widget)
    run = finished_run(widget, browser)
    browser.say({"type": "save", "run": run.id})
    widget._saver.wait(30)
    assert not widget.saving and widget.message == "" and widget.saved.endswith(f"-run{run.id}-a-red-star")
    (folder,) = (tmp_path / "galleries").iterdir()
    assert folder.name == widget.saved
    assert Gallery.load(folder).guidance == run.guidance
    for hostile in ({"type": "save", "run": run.id, "path": "/etc"}, {"type": "save", "run": 99}, {"type": "save"}):
        widget.message = ""
        browser.say(hostile)
        assert widget.message
    assert len(list((tmp_path / "galleries").iterdir())) == 1


def test_saving_one_run_twice_in_a_second_writes_a_second_folder(sd_pipe, tmp_path, monkeypatch):
    from sdwidget.widget import history as _history

    monkeypatch.setattr(_history.time, "strftime", lambda _format: "20261124-120000")
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path))
    run = finished_run(widget, Browser(widget))
    first, second = widget.save_gallery(), widget.save_gallery()
    assert first.name == f"20261124-120000-run{run.id}-a-red-star" and second.name == first.name + "-2"
    assert Gallery.load(first).guidance == Gallery.load(second).guidance == run.guidance


def test_save_gallery_runs_off_the_message_handler_so_a_live_run_keeps_streaming(sd_pipe, tmp_path, monkeypatch):
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path / "galleries"))
    browser = Browser(widget)
    first = finished_run(widget, browser)
    release, real_save = threading.Event(), Gallery.save
    monkeypatch.setattr(Gallery, "save", lambda self, folder: (release.wait(30), real_save(self, folder))[1])
    browser.say({"type": "save", "run": first.id})
    assert widget.saving and widget.saved == ""
    browser.say({"type": "save", "run": first.id})
    assert "still being saved" in widget.message
    # While the first save is held, a second run streams and is acked to the end: the handler is free.
    second = finished_run(widget, browser)
    assert [meta["step"] for meta, _ in browser.frames() if meta["run"] == second.id] == list(range(12))
    assert widget.saving
    release.set()
    widget._saver.wait(30)
    assert not widget.saving and widget.saved.endswith(f"-run{first.id}-a-red-star")
    assert len(list((tmp_path / "galleries").iterdir())) == 1


def test_a_failed_save_is_shown_in_the_widget_and_the_button_is_free_again(sd_pipe, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(blocker))
    browser = Browser(widget)
    run = finished_run(widget, browser)
    browser.say({"type": "save", "run": run.id})
    widget._saver.wait(30)
    assert not widget.saving and widget.saved == ""
    assert widget.message.startswith("Save gallery failed: ") and "Error" in widget.message
    widget.gallery_dir = str(tmp_path / "ok")
    browser.say({"type": "save", "run": run.id})
    widget._saver.wait(30)
    assert widget.saved.endswith(f"-run{run.id}-a-red-star") and run.status is RunStatus.FINISHED


def test_history_lists_runs_and_sends_any_run_frames_on_request(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    first = finished_run(widget, browser, guidance=3.0)
    second = finished_run(widget, browser, guidance=6.0, steps=5)
    assert [(r["key"], r["status"], r["guidance"]) for r in widget.runs] == [
        (first.id, "finished", [3.0] * 12),
        (second.id, "finished", [6.0] * 5),
    ]
    browser.messages.clear()
    browser.say({"type": "frames", "run": first.id})
    history = browser.frames("history")
    assert [meta["step"] for meta, _ in history] == list(range(12)) and widget.message == ""
    assert all(meta["run"] == first.id for meta, _ in history)


def test_history_keeps_as_many_runs_as_the_runner(sd_pipe):
    widget = SamplerWidget(Runner(sd_pipe, history=2), pace=0)
    browser = Browser(widget)
    runs = [finished_run(widget, browser, steps=2) for _ in range(3)]
    assert [r["key"] for r in widget.runs] == [runs[1].id, runs[2].id]
    browser.say({"type": "frames", "run": runs[0].id})
    assert "no run" in widget.message


def test_a_gallery_shows_without_a_model(sd_pipe, tmp_path):
    run = Runner(sd_pipe).generate("a blue ring", num_inference_steps=6, guidance_scale=4.0, seed=1)
    folder = Gallery.from_run(run).save(tmp_path / "g")
    widget = SamplerWidget()
    browser = Browser(widget)
    assert widget.has_model is False
    gallery = widget.add_gallery(folder)
    (entry,) = widget.runs
    assert entry["key"] == widget.view < 0 and entry["source"] == "gallery g" and entry["guidance"] == [4.0] * 6
    browser.say({"type": "frames", "run": widget.view})
    history = browser.frames("history")
    assert [meta["guidance"] for meta, _ in history] == gallery.guidance
    decoded = [np.asarray(Image.open(io.BytesIO(buf))) for _, buf in history]
    assert all(np.array_equal(a, b) for a, b in zip(decoded, gallery.frames, strict=True))
    browser.say(GENERATE)
    assert "no pipeline" in widget.message


def test_kernel_state_reaches_every_front_end_as_an_update_message(sd_pipe):
    """Trait assignment sends ``update``; ``set_state`` sent only ``echo_update``, which marimo drops."""
    widget = SamplerWidget(sd_pipe, pace=0)
    Browser(widget)
    sent, send = [], widget.comm.send
    widget.comm.send = lambda data=None, buffers=None, **kw: (sent.append(data), send(data=data, buffers=buffers, **kw))
    run = widget.generate("a red star", num_inference_steps=3, seed=1)
    run.wait()
    wait_for(lambda: widget.status == "finished")
    updates = [msg["state"] for msg in sent if msg["method"] == "update"]
    assert any(state.get("run_id") == run.id for state in updates)
    assert any(state.get("status") == "finished" for state in updates)
    assert not [msg for msg in sent if msg["method"] == "echo_update"]


def test_close_unsubscribes_from_the_runner(sd_pipe):
    runner = Runner(sd_pipe)
    widget = SamplerWidget(runner, pace=0)
    assert widget._on_event in runner._observers
    widget.close()
    assert widget._on_event not in runner._observers
    runner.generate("a red star", num_inference_steps=2, seed=1)
    assert widget.step == 0 and widget._senders == {}


def test_steering_from_the_browser_pace_breakpoints_single_step_prompt_plan_branch_decode(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "pace", "value": 200})
    assert widget.pace == 200.0 and widget.runner.pace == 200.0
    browser.say({"type": "breakpoints", "steps": [3]})
    browser.say({**GENERATE, "steps": 8})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 3)
    browser.say({"type": "step"})
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == 4)
    browser.say({"type": "prompt", "prompt": "a blue ring"})
    browser.say({"type": "plan", "start": 6, "values": [1.0, 9.0]})
    browser.say({"type": "resume"})
    run.wait()
    assert widget.message == "" and run.status is RunStatus.FINISHED
    assert run.prompts == [{"step": 4, "prompt": "a blue ring", "negative_prompt": None}]
    assert run.guidance == [5.0] * 6 + [1.0, 9.0]
    browser.say({"type": "pace", "value": None})
    assert widget.pace == 0.0 and widget.runner.pace is None
    browser.say({"type": "branch", "run": run.id, "step": 4, "guidance": 2.0})
    child = widget.runner.run
    child.wait()
    assert child is not run and child.params["parent"] == run.id and child.guidance == [5.0] * 4 + [2.0] * 4
    wait_for(lambda: widget.run_id == child.id and widget.status == "finished")
    browser.say({"type": "decode", "run": child.id, "step": 7})
    wait_for(lambda: any(msg["type"] == "decoded" for msg, _ in browser.messages))
    (msg, (png,)) = next((m, b) for m, b in browser.messages if m["type"] == "decoded")
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert msg == {"type": "decoded", "run": child.id, "step": 7}
    assert np.array_equal(decoded, np.asarray(child.decode_step(7))), "the exact decode of that step"


def test_steering_refusals_name_the_control(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    for message, words in [
        ({"type": "plan", "start": 2, "values": [3.0]}, "Guidance curve: no run is going"),
        ({"type": "pace", "value": -1}, "Pace must be more than 0"),
        ({"type": "breakpoints", "steps": [0]}, "Breakpoints must be between 1"),
        ({"type": "branch", "run": 99, "step": 1}, "no run 99"),
        ({"type": "prompt", "prompt": "x"}, "no run is going"),
        ({"type": "decode", "run": 1, "step": 0}, "no run 1"),
    ]:
        browser.say(message)
        assert words in widget.message, (message, widget.message)
