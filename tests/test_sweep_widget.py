"""A sweep in the widget: its grid, a click that opens an item's record and replays it with frames,
and sweep folders that are damaged or hostile refused with a clear message."""

import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image
from test_widget import Browser, wait_for

from sdwidget import Gallery, Runner, SamplerWidget, StepEvent, demo_pipeline, sweep
from sdwidget.widget.sweeps import MAX_RECORDS_BYTES

PROMPTS = ["a red circle on a black background", "a small yellow triangle at the top left"]


@pytest.fixture(scope="module")
def demo():
    return demo_pipeline()


@pytest.fixture(scope="module")
def swept(demo, tmp_path_factory):
    """A 2 prompts × 2 seeds sweep of a run steered by hand (guidance 5 → 1 → 8, a prompt edit)."""
    runner = Runner(demo)
    runner.observe(lambda e: isinstance(e, StepEvent) and e.step == 1 and e.run.set_guidance(1.0))
    run = runner.generate(PROMPTS[0], num_inference_steps=6, guidance_scale=5.0, seed=1,
                          prompt_schedule=[{"step": 4, "prompt": "a blue square on a black background"}])  # fmt: skip
    source = Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")
    out = tmp_path_factory.mktemp("sweeps") / "sweep"
    records = sweep(source, seeds="3:5", prompts=PROMPTS, out=out, model=demo, progress=False)
    assert len(records) == 4 and records[0]["guidance"] == [5.0, 5.0, 1.0, 1.0, 1.0, 1.0]
    return out, records


def pixels(data):
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.filterwarnings("error:the run was recorded on model")  # the sweep's own model: no false warning
def test_a_click_on_the_grid_shows_the_record_and_replays_the_item_exactly_with_frames(swept, demo):
    out, records = swept
    widget = SamplerWidget(demo, pace=0)
    browser = Browser(widget)
    widget.add_sweep(out)
    state = widget.sweep
    assert state["key"] == 1 and state["name"] == "sweep" and state["selected"] is None and state["record"] is None
    assert str(out) not in json.dumps(state), "the browser is never told the folder's path"
    layout = json.loads((out / "grid.json").read_text())
    assert state["size"] == list(Image.open(out / "grid.png").size)
    assert state["cells"] == [{k: c[k] for k in ("item", "box", "caption")} for c in layout["items"]]

    browser.say({"type": "sweep_grid"})  # the view asks for the grid image: a binary buffer, not a trait
    (msg, buffers), *_ = [m for m in browser.messages if m[0]["type"] == "sweep_grid"]
    assert msg == {"type": "sweep_grid", "key": 1} and buffers == [(out / "grid.png").read_bytes()]

    chosen = records[3]  # the second prompt, the second seed
    browser.say({"type": "sweep_item", "item": chosen["item"]})
    assert widget.message == ""
    run = widget.runner.run
    run.wait()
    wait_for(lambda: widget.status == "finished" and widget.run_id == run.id)
    assert np.array_equal(np.asarray(run.image), pixels(out / chosen["image"]))
    assert np.array_equal(pixels(widget.image), pixels(out / chosen["image"])), "the final image the view shows"
    assert run.guidance == chosen["guidance"] and run.prompts == chosen["prompts"] and run.params["seed"] == 4
    assert [meta["step"] for meta, _ in browser.frames()] == list(range(6)), "every step painted live"
    record = widget.sweep["record"]
    assert widget.sweep["selected"] == chosen["item"]
    assert (record["seed"], record["prompt"], record["guidance"]) == (4, PROMPTS[1], chosen["guidance"])
    assert record["seconds"] == chosen["timings"]["seconds"] and record["device"] == "cpu"
    assert record["prompts"] == [{"step": 4, "prompt": "a blue square on a black background"}]


def test_bad_items_are_refused_naming_the_control(swept, demo):
    out, _ = swept
    widget = SamplerWidget(demo, pace=0)
    browser = Browser(widget)
    browser.say({"type": "sweep_item", "item": 0})
    assert widget.message == "Sweep item: no sweep in this widget; add one with add_sweep(folder)"
    widget.add_sweep(out)
    for item, text in [
        (4, "Sweep item: this sweep has no item 4 (its items are 0 to 3)"),
        (-1, "Sweep item must be between 0 and 2147483647, got -1"),
        ("1", "Sweep item must be an integer, got str '1'"),
        (1.0, "Sweep item must be an integer, got float 1.0"),
        (10**40, "Sweep item must be between 0 and 2147483647, got a number too large to use"),
    ]:
        browser.say({"type": "sweep_item", "item": item})
        assert widget.message == text and widget.runner.run is None
    browser.say({"type": "sweep_item", "item": 0, "path": "/etc/passwd"})
    assert widget.message == "Sweep item: unexpected fields 'path'"
    with pytest.raises(ValueError, match="no item 7"):
        widget.replay_sweep(7)
    with pytest.raises(TypeError, match="Sweep item must be an integer"):
        widget.replay_sweep("0")
    assert widget.sweep["selected"] is None and widget.runner.run is None

    widget.pace = 2  # a slow run, going while the next click comes
    first = widget.replay_sweep(0)
    browser.say({"type": "sweep_item", "item": 1})
    assert widget.message == "Sweep item: a run is going; press Stop or wait for it to finish"
    assert widget.runner.run is first and widget.sweep["selected"] == 1, "the record opens; the replay waits"
    first.stop()
    first.wait()


def test_without_a_model_the_grid_and_records_show_and_a_replay_says_why_not(swept):
    out, records = swept
    widget = SamplerWidget()
    Browser(widget).say({"type": "sweep_item", "item": 2})
    widget.add_sweep(out)
    Browser(widget).say({"type": "sweep_item", "item": 2})
    assert widget.sweep["record"]["seed"] == records[2]["seed"]
    assert widget.message == "Sweep item: no pipeline to replay with; create the widget with SamplerWidget(pipe)"


def damaged(folder, name, data):
    (folder / name).unlink()
    if isinstance(data, str) and data.startswith("->"):
        (folder / name).symlink_to(data[2:])
    elif data is not None:
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def record_line(records, **changes):
    return json.dumps({**records[0], **changes}) + "\n"


HOSTILE = {
    "no runs.jsonl": ("runs.jsonl", None, "holds no runs.jsonl: the sweep has not finished"),
    "empty runs.jsonl": ("runs.jsonl", "\n", "runs.jsonl holds 0 records"),
    "runs.jsonl not JSON": ("runs.jsonl", "{oops\n", "runs.jsonl line 1 is not a sweep record: the line is not JSON"),
    "not UTF-8": ("runs.jsonl", b"\xff\xfe\n", "is not a readable sweep"),
    "nested brackets": ("runs.jsonl", "[" * 100_000 + "\n", "line 1 is not a sweep record"),
    "a list record": ("runs.jsonl", "[1, 2]\n", "a record must be an object, got list"),
    "huge runs.jsonl": ("runs.jsonl", b" " * (MAX_RECORDS_BYTES + 1), "runs.jsonl is larger than 64 MiB"),
    "symlinked runs.jsonl": ("runs.jsonl", "->/etc/passwd", "runs.jsonl is reached through a symbolic link"),
    "grid.png not a PNG": ("grid.png", b"GIF89a" + b"\0" * 100, "grid.png is not an image"),
    "grid.json not JSON": ("grid.json", "nope", "grid.json is not JSON"),
    "not a sweep.json": ("sweep.json", '{"format": "sdwidget-gallery"}', "its format is not sdwidget-sweep"),
    "symlinked sweep.json": ("sweep.json", "->/etc/hostname", "sweep.json is reached through a symbolic link"),
    "sweep.json not JSON": ("sweep.json", "[" * 100_000, "sweep.json is not JSON"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_damaged_or_hostile_sweep_folder_is_refused_clearly(swept, tmp_path, case):
    out, _ = swept
    folder = shutil.copytree(out, tmp_path / "copy")
    name, data, text = HOSTILE[case]
    damaged(folder, name, data)
    widget = SamplerWidget()
    with pytest.raises((ValueError, FileNotFoundError), match=str(folder)) as raised:
        widget.add_sweep(folder)
    assert text in str(raised.value)
    assert widget.message == f"Could not add the sweep: {raised.value}" and widget.sweep == {}


def test_bad_records_and_cells_are_refused_naming_the_line_and_field(swept, tmp_path):
    out, records = swept
    widget = SamplerWidget()
    cases = [
        ("runs.jsonl", record_line(records, seed=-1, params={**records[0]["params"], "seed": -1}), "params.seed"),
        ("runs.jsonl", record_line(records, guidance=[1e400]), "guidance must be finite"),
        ("runs.jsonl", record_line(records, status="running"), "status must be one of"),
        ("runs.jsonl", record_line(records, prompts=[{"step": 0, "prompt": "x"}]), "prompts.step must be between"),
        ("runs.jsonl", record_line(records) * 2, "lists item 0 twice"),
        ("grid.json", json.dumps({"items": [{"item": 0, "box": [0, 0, 10**6, 1]}] * 4}), "cell 1 is not a cell"),
        ("grid.json", json.dumps({"items": [{"item": [0], "box": [0, 0, 1, 1]}] * 4}), "cell 1 is not a cell"),
        ("grid.json", json.dumps({"items": []}), "does not list one cell per record"),
    ]
    for number, (name, data, text) in enumerate(cases):
        folder = shutil.copytree(out, tmp_path / f"case{number}")
        damaged(folder, name, data)
        with pytest.raises((ValueError, TypeError), match=str(folder)) as raised:
            widget.add_sweep(folder)
        assert text in str(raised.value), (text, str(raised.value))


def test_a_folder_that_is_not_a_sweep_a_fifo_and_a_file_are_refused(swept, tmp_path):
    out, _ = swept
    widget = SamplerWidget()
    gallery = next((out.parent.parent).glob("source*/gallery"))
    for folder, text in [
        (gallery, "holds no sweep.json; is it a sweep's --out folder?"),
        (out / "runs.jsonl", "is not a folder"),
        (tmp_path / "nothing", "is not a folder"),
    ]:
        with pytest.raises(FileNotFoundError, match=text):
            widget.add_sweep(folder)
        assert widget.message.startswith("Could not add the sweep: ") and text in widget.message
    folder = shutil.copytree(out, tmp_path / "fifo")
    (folder / "runs.jsonl").unlink()
    os.mkfifo(folder / "runs.jsonl")  # a read would hang the kernel
    with pytest.raises(ValueError, match="runs.jsonl is not a regular file"):
        widget.add_sweep(folder)
    widget.add_sweep(out)
    assert widget.message == "" and len(widget.sweep["cells"]) == 4, "a good sweep after bad ones shows"
