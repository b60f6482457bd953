"""Galleries from strangers: a tampered folder is refused with a ValueError that names it; it is
never read outside itself, never blocks, never decoded at any size; the widget survives it."""

import contextlib
import dataclasses
import json
import os
import shutil
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from sdwidget import Gallery, Runner, SamplerWidget

STEPS = 6
GENERATE = {"type": "generate", "prompt": "a red star", "negative_prompt": "", "steps": 4, "seed": 4, "guidance": 5.0}


class Browser:
    """Plays the front end: records custom messages and acks frames (as in test_widget)."""

    def __init__(self, widget):
        self.widget, self.messages = widget, []
        widget.send = self.receive

    def receive(self, msg, buffers=None):
        self.messages.append((msg, list(buffers or [])))
        if msg["type"] == "frames":
            self.say({"type": "ack", "run": msg["frames"][0]["run"]})

    def say(self, content):
        self.widget._on_message(self.widget, content, [])

    def steps(self, run_id):
        return [m["step"] for msg, _ in self.messages if msg["type"] == "frames" for m in msg["frames"]
                if m["run"] == run_id]  # fmt: skip


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def base(sd_pipe, tmp_path_factory):
    run = Runner(sd_pipe).generate("a red star", num_inference_steps=STEPS, guidance_scale=5.0, seed=2)
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("base") / "g")


@pytest.fixture
def folder(base, tmp_path):
    """A fresh copy of a real gallery, ready to be tampered with."""
    return Path(shutil.copytree(base, tmp_path / "tampered-gallery"))


@pytest.fixture
def fifos():
    """FIFOs made by a test; afterwards a writer opens each, waking any reader a broken loader left blocked."""
    made = []
    yield made
    for path in made:
        with contextlib.suppress(OSError):  # no reader waiting: nothing to wake
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def edit(folder, change):
    """Rewrite run.json after ``change(meta)`` has edited it in place (its return value is ignored)."""
    meta = json.loads((folder / "run.json").read_text())
    change(meta)
    (folder / "run.json").write_text(json.dumps(meta))


def load_within(folder, seconds=5.0):
    """``Gallery.load(folder)`` on a thread: (result or exception, seconds); fails if it hangs."""
    out = {}

    def target():
        try:
            out["value"] = Gallery.load(folder)
        except BaseException as exc:  # noqa: BLE001 - whatever escapes is the verdict
            out["value"] = exc

    started = time.perf_counter()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"Gallery.load hung for {seconds} s (blocked reading a file?)"
    return out["value"], time.perf_counter() - started


def refused(folder, seconds=5.0):
    got, took = load_within(folder, seconds)
    assert isinstance(got, ValueError), f"expected a ValueError, got {type(got).__name__}: {str(got)[:200]}"
    assert str(folder) in str(got), f"the refusal does not name the folder: {str(got)[:300]}"
    return got, took


def outside_png(folder, relative):
    """A valid frame outside the gallery, so a loader that follows the path would succeed."""
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "steps" / "step-001.png", target)
    return target


def link_out(folder, relative):
    """Move a file or folder of the gallery outside it, leaving a symlink to it in its place."""
    target = folder.parent / "out" / relative
    target.parent.mkdir(parents=True)
    shutil.move(folder / relative, target)
    (folder / relative).symlink_to(target)


def first_step(name):
    return lambda meta: meta["files"]["steps"].__setitem__(0, name)


TAMPERS = {
    "json-list": lambda f: (f / "run.json").write_text("[1, 2, 3]"),
    "no-seed": lambda f: edit(f, lambda m: m["params"].pop("seed")),
    "no-steps": lambda f: edit(f, lambda m: m.pop("steps")),
    "steps-ints": lambda f: edit(f, lambda m: m.__setitem__("steps", [1, 2, 3])),
    "nested-brackets": lambda f: (f / "run.json").write_text("[" * 100_000 + "]" * 100_000),
    "200k-steps": lambda f: edit(
        f, lambda m: m.__setitem__("steps", [dict(m["steps"][0], step=i) for i in range(200_000)])
    ),
    "dotdot": lambda f: (outside_png(f, "../elsewhere/secret.png"), edit(f, first_step("../elsewhere/secret.png"))),
    "etc-passwd": lambda f: edit(f, first_step("/etc/passwd")),
    "inner-dotdot": lambda f: (outside_png(f, "../x.png"), edit(f, first_step("steps/../../x.png"))),
    "step-symlink": lambda f: link_out(f, "steps/step-001.png"),
    "steps-dir-symlink": lambda f: link_out(f, "steps"),
    "run-json-symlink": lambda f: link_out(f, "run.json"),
    "count-mismatch": lambda f: ((f / "steps/step-006.png").unlink(), edit(f, lambda m: m["files"]["steps"].pop())),
    "huge-guidance": lambda f: edit(f, lambda m: m["steps"][2].__setitem__("guidance", 10**400)),
    "non-utf8": lambda f: (f / "run.json").write_bytes((f / "run.json").read_bytes().replace(b"red", b"r\xffd", 1)),
}


def test_an_untouched_copy_loads(folder, base):
    """Guards the tests below against a loader that refuses everything (or a broken copy)."""
    got, _ = load_within(folder)
    assert isinstance(got, Gallery), got
    assert got.guidance == [5.0] * STEPS and len(got.frames) == STEPS and got.params["seed"] == 2


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_a_tampered_gallery_is_refused_with_a_value_error_naming_it(folder, tamper):
    """Guards against AttributeError/KeyError/RecursionError/TypeError escaping, a silent load of
    an inconsistent record, and frames read through paths or symlinks that leave the folder."""
    TAMPERS[tamper](folder)
    refused(folder, seconds=10.0)


def test_a_fifo_step_file_is_refused_without_blocking(folder, fifos):
    """Guards against a load that opens a named pipe and waits forever for a writer."""
    (folder / "steps/step-002.png").unlink()
    os.mkfifo(folder / "steps/step-002.png")
    fifos.append(folder / "steps/step-002.png")
    refused(folder)


def test_a_path_to_an_outside_file_is_refused_without_opening_it(folder, tmp_path, fifos):
    """Guards against opening what an absolute path names; the target is a FIFO, so opening it would hang."""
    os.mkfifo(tmp_path / "secret.png")
    fifos.append(tmp_path / "secret.png")
    edit(folder, first_step(str(tmp_path / "secret.png")))
    refused(folder)


def test_a_huge_declared_frame_is_refused_before_it_is_decoded(folder):
    """A few-KB PNG declaring 4000×4000 (48 MB decoded), six times: guards against decoding bombs."""
    Image.new("RGB", (4000, 4000), (200, 30, 30)).save(folder / "steps/big.png")
    assert (folder / "steps/big.png").stat().st_size < 500_000
    edit(folder, lambda m: m["files"].__setitem__("steps", ["steps/big.png"] * STEPS))
    tracemalloc.start()
    try:
        _, took = refused(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert took < 2.0, f"refusal took {took:.2f} s"
    assert peak < 50 << 20, f"peak {peak >> 20} MB traced: the frames were decoded"


def test_the_widget_refuses_a_bad_gallery_and_keeps_its_history(base, folder):
    """Guards against a half-added gallery: the exception escaping as KeyError, no message, or
    a broken record left in ``runs``."""
    widget = SamplerWidget()
    widget.add_gallery(base)
    before = [dict(entry) for entry in widget.runs]
    for tamper in ("no-seed", "json-list", "count-mismatch"):
        shutil.rmtree(folder)
        shutil.copytree(base, folder)
        TAMPERS[tamper](folder)
        widget.message = ""
        with pytest.raises(ValueError):
            widget.add_gallery(folder)
        assert "tampered-gallery" in widget.message
        assert widget.runs == before


def test_after_a_bad_gallery_the_widget_still_streams_a_run(sd_pipe, folder):
    """Guards against a gallery record without a seed breaking ``runs`` and so killing the
    frame sender of every later run (status stuck on running)."""
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    edit(folder, lambda m: m["params"].pop("seed"))
    with pytest.raises(ValueError):
        widget.add_gallery(folder)
    browser.say(GENERATE)
    run = widget.runner.run
    assert run.wait(30)
    wait_for(lambda: widget.status == "finished" and widget.run_id == run.id)
    assert browser.steps(run.id) == [0, 1, 2, 3] and widget.runs[-1]["key"] == run.id


def test_a_run_id_holding_a_path_never_writes_outside_the_gallery_dir(base, folder, tmp_path):
    """Guards against ``run_id`` reaching the saved folder's name: ``1/../../../outside`` would
    climb out of ``gallery_dir``."""
    hostile = "1/../../../outside"
    gallery_dir = tmp_path / "a" / "b" / "galleries"
    gallery_dir.mkdir(parents=True)

    def snapshot():
        return set(tmp_path.rglob("*")) | set(tmp_path.parent.iterdir())

    edit(folder, lambda m: m.__setitem__("run_id", hostile))
    before = snapshot()
    refused(folder)
    assert snapshot() == before
    widget = SamplerWidget(gallery_dir=str(gallery_dir))
    browser = Browser(widget)
    try:
        widget.add_gallery(dataclasses.replace(Gallery.load(base), run_id=hostile))
    except ValueError:
        pass
    else:
        browser.say({"type": "save", "run": widget.view})
        wait_for(lambda: not widget.saving)
    created = snapshot() - before
    assert all(path.is_relative_to(gallery_dir) for path in created), sorted(map(str, created))


def finished_run(widget, browser):
    browser.say(GENERATE)
    run = widget.runner.run
    assert run.wait(30)
    wait_for(lambda: widget.runs and widget.runs[-1]["key"] == run.id and widget.runs[-1]["status"] == "finished")
    return run


def test_a_failed_save_removes_the_parent_folders_it_made(sd_pipe, tmp_path, monkeypatch):
    """Guards against a failed write leaving ``a/b/c`` behind after removing only its temporary folder."""
    from sdwidget.gallery import export

    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(tmp_path / "a" / "b" / "c"))
    browser = Browser(widget)
    run = finished_run(widget, browser)

    def burn(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export, "contact_sheet", burn)
    browser.say({"type": "save", "run": run.id})
    wait_for(lambda: not widget.saving)
    assert widget.message.startswith("Save gallery failed") and "disk on fire" in widget.message
    assert not (tmp_path / "a").exists()


def test_a_refused_rename_is_reported_as_a_permission_problem(sd_pipe, tmp_path, monkeypatch):
    """Guards against every rename error being reported as a folder that 'appeared while the
    gallery was written'."""
    from sdwidget.gallery import export

    gallery_dir = tmp_path / "galleries"
    gallery_dir.mkdir()
    widget = SamplerWidget(sd_pipe, pace=0, gallery_dir=str(gallery_dir))
    browser = Browser(widget)
    run = finished_run(widget, browser)

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(export.os, "rename", deny)
    monkeypatch.setattr(export.os, "replace", deny)
    browser.say({"type": "save", "run": run.id})
    wait_for(lambda: not widget.saving)
    assert widget.message.startswith("Save gallery failed") and "ermission" in widget.message, widget.message
    assert "appeared" not in widget.message
    assert list(gallery_dir.iterdir()) == [], "the temporary folder was left behind"
