"""Sweeps: a hand-steered demo run replayed over seeds × prompts, in 1 process and in 2 under accelerate."""

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdwidget import Gallery, Runner, StepEvent, demo_pipeline
from sdwidget.sweep import SweepError, caption, load_records, load_source, main, sweep
from sdwidget.sweep.grid import caption_strip

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ["a red circle on a black background", "a small yellow triangle at the top left"]
STEPS = 6


@pytest.fixture(scope="module")
def demo():
    return demo_pipeline()


@pytest.fixture(scope="module")
def steered(demo, tmp_path_factory):
    """A gallery of a run steered by hand (guidance 5 → 1 → 8) with a prompt edit at step 4."""
    runner = Runner(demo)

    def steer(event):
        if isinstance(event, StepEvent) and event.step in (1, 3):
            event.run.set_guidance(1.0 if event.step == 1 else 8.0)

    runner.observe(steer)
    run = runner.generate(
        PROMPTS[0], num_inference_steps=STEPS, guidance_scale=5.0, seed=1,
        prompt_schedule=[{"step": 4, "prompt": "a blue square on a black background"}],
    )  # fmt: skip
    assert run.guidance == [5.0, 5.0, 1.0, 1.0, 8.0, 8.0] and len(run.prompts) == 1
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")


@pytest.fixture(scope="module")
def prompts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n\n")
    return path


@pytest.fixture(scope="module")
def one_process(steered, prompts_file, demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "one"
    lines = []
    records = sweep(steered, seeds="0:6", prompts=prompts_file, out=out, model=demo, progress=False,
                    callback=lambda p: lines.append(p.line))  # fmt: skip
    assert len(records) == 12 and lines[-1].startswith("sweep: 12/12 images")
    return out, records


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def without_timings(records):
    return [{k: v for k, v in r.items() if k != "timings"} for r in records]


def test_a_two_process_accelerate_sweep_equals_a_one_process_sweep(one_process, steered, prompts_file, tmp_path):
    with socket.socket() as s:  # a free rendezvous port: other test runs may be launching too
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "two"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", str(port), "-m", "sdwidget.sweep"]  # fmt: skip
    args = [str(steered), "--seeds", "0:6", "--prompts", str(prompts_file), "--out", str(out), "--no-progress"]
    done = subprocess.run(launch + args, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("sweep: 12 items, 0 failed") == 1, "only the main process reports"
    one, records = one_process
    two = load_records(out)
    assert {r["timings"]["rank"] for r in two} == {0, 1}, "both processes rendered"
    assert without_timings(two) == without_timings(records)
    for record in records:
        assert np.array_equal(pixels(one / record["image"]), pixels(out / record["image"])), record["name"]
        assert (one / record["image"]).read_bytes() == (out / record["image"]).read_bytes(), "metadata too"
    assert np.array_equal(pixels(one / "grid.png"), pixels(out / "grid.png"))
    assert json.loads((one / "sweep.json").read_text()) == json.loads((out / "sweep.json").read_text())


def test_every_item_replays_the_recorded_curve_and_edit_with_its_own_prompt_and_seed(one_process, steered):
    out, records = one_process
    assert [(r["prompt"], r["seed"]) for r in records] == [(p, s) for p in PROMPTS for s in range(6)]
    for r in records:
        assert r["guidance"] == [5.0, 5.0, 1.0, 1.0, 8.0, 8.0] and r["status"] == "finished"
        assert r["prompts"] == [{"step": 4, "prompt": "a blue square on a black background", "negative_prompt": None}]
        assert r["params"]["model"] == Gallery.load(steered).params["model"] and len(r["timings"]["steps"]) == STEPS
    finals = {r["name"]: pixels(out / r["image"]) for r in records}
    assert len({image.tobytes() for image in finals.values()}) == 12, "every seed and prompt makes its own image"
    with Image.open(out / records[7]["image"]) as png:
        gallery_format = json.loads(png.text["sdwidget"])
        assert gallery_format["params"]["seed"] == 1 and gallery_format["params"]["prompt"] == PROMPTS[1]
        assert gallery_format["run_id"] == 8 and gallery_format["prompts"] == records[7]["prompts"]
        assert json.loads(png.text["sdwidget-sweep"]) == without_timings([records[7]])[0]
        assert "Seed: 1" in png.text["parameters"] and "CFG schedule: 5 5 1 1 8 8" in png.text["parameters"]
    assert load_records(out) == records
    for source in (steered, steered / "run.json", Gallery.load(steered)):
        assert load_source(source).guidance == records[0]["guidance"] and load_source(source).status == "finished"


@pytest.mark.filterwarnings("error:the run was recorded on model")  # same model: no false warning
def test_a_record_replays_its_item_exactly(one_process, demo):
    out, records = one_process
    again = Runner(demo).replay(load_source(out / "records" / f"{records[9]['name']}.json"))
    again.wait()
    assert np.array_equal(np.asarray(again.image), pixels(out / records[9]["image"]))


def test_the_grid_has_every_item_captioned(one_process):
    out, records = one_process
    layout = json.loads((out / "grid.json").read_text())
    assert layout["columns"] == 6, "a row per prompt"
    assert [cell["item"] for cell in layout["items"]] == [r["item"] for r in records]
    grid = pixels(out / "grid.png")
    for cell, record in zip(layout["items"], records, strict=True):
        x, y, w, h = cell["box"]
        assert cell["caption"] == caption(record) and cell["caption"].startswith(f"s{record['seed']}  ")
        strip = grid[y + h : y + h + layout["label_height"], x : x + w]
        assert np.array_equal(strip, np.asarray(caption_strip(cell["caption"], w))), cell["name"]
        assert (strip > 128).sum() > 20, "the caption is drawn"
        final = Image.open(out / record["image"]).convert("RGB")
        assert np.array_equal(grid[y : y + h, x : x + w], np.asarray(final.resize((w, h), Image.Resampling.NEAREST)))


def test_an_interrupted_sweep_resumes_without_redoing_finished_items(steered, demo, tmp_path):
    out = tmp_path / "sweep"

    def interrupt(progress):
        if progress.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(steered, seeds=range(5), out=out, model=demo, steps=4, progress=False, callback=interrupt)
    finished = sorted((out / "records").iterdir())
    assert len(finished) == 3 and not (out / "runs.jsonl").exists() and not (out / "grid.png").exists()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "images").iterdir()}
    (out / "images" / ".p000-s3.png.999.tmp").write_bytes(b"half an image")  # a write cut short
    (out / "records" / finished[-1].name).write_text("{")  # and a damaged record: that item is redone
    seen = []
    records = sweep(steered, seeds=range(5), out=out, model=demo, steps=4, progress=False, callback=seen.append)
    assert seen[-1].skipped == 2 and seen[-1].done == 3, "2 items kept, 3 rendered"
    assert [r["seed"] for r in records] == [0, 1, 2, 3, 4] and (out / "grid.png").exists()
    for name in ("p000-s0.png", "p000-s1.png"):
        assert (out / "images" / name).stat().st_mtime_ns == before[name][1], "a finished item is not redone"
    assert (out / "images" / "p000-s2.png").read_bytes() == before["p000-s2.png"][0], "redone alike"
    assert not list(out.rglob(".*.tmp"))
    fresh = sweep(steered, seeds=range(5), out=tmp_path / "fresh", model=demo, steps=4, progress=False)
    assert without_timings(fresh) == without_timings(records)
    assert records[0]["guidance"] == [5.0, 1.0, 1.0, 8.0], "the curve is stretched to 4 steps"


@pytest.fixture
def no_model_loads(monkeypatch):
    from sdwidget.sweep import prepare

    def refuse(*args):
        raise AssertionError("the model was loaded before the bad input was found")

    monkeypatch.setattr(prepare, "load", refuse)
    monkeypatch.setattr(prepare, "Runner", refuse)


def test_bad_input_is_refused_before_any_work(steered, prompts_file, tmp_path, no_model_loads, sd_pipe):
    other = tmp_path / "moved"
    shutil.copytree(steered, other)
    meta = json.loads((other / "run.json").read_text())
    meta["params"]["model"] = str(tmp_path / "no-such-model")
    (other / "run.json").write_text(json.dumps(meta))
    binary = tmp_path / "prompts.png"
    binary.write_bytes((steered / "final.png").read_bytes())
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "sweep.json").write_text(json.dumps({"format": "sdwidget-sweep", "seeds": [1, 2]}))
    cluttered = tmp_path / "cluttered"
    cluttered.mkdir()
    (cluttered / "notes.txt").write_text("mine")
    unloaded = Runner(sd_pipe).generate("a red star", num_inference_steps=2, seed=1)  # built in Python: no model
    paused = Runner(sd_pipe).start("a red star", num_inference_steps=3, seed=1, pause_at=[1])
    while paused.status.value != "paused":
        paused.wait(0.01)
    damaged = tmp_path / "damaged"
    shutil.copytree(steered, damaged)
    (damaged / "run.json").write_text("{")
    out = tmp_path / "out"
    cases = [
        (dict(source=other, seeds="0:6"), "cannot be found"),
        (dict(source=unloaded, seeds="0:6"), "records no model"),
        (dict(source=paused, seeds="0:6"), "the run is paused"),
        (dict(source=damaged, seeds="0:6"), "run.json cannot be read"),
        (dict(source=steered, seeds="3:3"), "seed range 3:3 is empty"),
        (dict(source=steered, seeds=[]), "seed range is empty"),
        (dict(source=steered, seeds="0:6", prompts=binary), "is not UTF-8 text"),
        (dict(source=steered, seeds="0:6", prompts=tmp_path / "none.txt"), "does not exist"),
        (dict(source=steered, seeds="0:6", out=foreign), "holds another sweep's files"),
        (dict(source=steered, seeds="0:6", out=cluttered), "holds no sweep.json"),
        (dict(source=tmp_path / "nowhere", seeds="0:6"), "does not exist"),
    ]
    for kwargs, match in cases:
        with pytest.raises(SweepError, match=match):
            sweep(**{"out": out, "progress": False, **kwargs})
        assert not out.exists(), f"{match}: nothing is written"
    assert sorted(p.name for p in foreign.iterdir()) == ["sweep.json"] and len(list(cluttered.iterdir())) == 1
    paused.stop()
    paused.wait()


def test_the_command_line_reports_bad_input_in_one_line(steered, tmp_path, capsys, no_model_loads):
    assert main([str(steered), "--seeds", "5:2", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sdwidget sweep: error: the seed range 5:2 is empty") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_failed_item_is_recorded_captioned_and_rendered_again_on_resume(steered, demo, tmp_path):
    broken = []

    def explode(module, args):
        if broken:
            raise RuntimeError("boom in the unet")

    def break_the_second(progress):
        broken[:] = [True] if progress.done == 1 else []

    handle = demo.unet.register_forward_pre_hook(explode)
    try:
        records = sweep(steered, seeds=range(3), out=tmp_path, model=demo, steps=2, progress=False,
                        callback=break_the_second)  # fmt: skip
    finally:
        handle.remove()
    assert [r["status"] for r in records] == ["finished", "failed", "finished"]
    assert records[1]["image"] is None and "boom in the unet" in records[1]["error"]
    assert not (tmp_path / "images" / "p000-s1.png").exists()
    assert json.loads((tmp_path / "grid.json").read_text())["items"][1]["caption"].startswith("s1  failed: ")
    seen = []
    again = sweep(steered, seeds=range(3), out=tmp_path, model=demo, steps=2, progress=False, callback=seen.append)
    assert [r["status"] for r in again] == ["finished"] * 3 and (seen[-1].done, seen[-1].skipped) == (1, 2)


def test_load_records_reads_only_a_regular_bounded_file(tmp_path):
    from sdwidget.sweep import load_records

    (tmp_path / "elsewhere.jsonl").write_text('{"item": 0}\n')
    (tmp_path / "runs.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    with pytest.raises(ValueError, match="runs.jsonl is reached through a symbolic link"):
        load_records(tmp_path)
    (tmp_path / "runs.jsonl").unlink()
    (tmp_path / "runs.jsonl").write_text('{"item": 0}\n\n{"item": 1}\n')
    assert load_records(tmp_path) == [{"item": 0}, {"item": 1}]
