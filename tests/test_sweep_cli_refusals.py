"""The sweep's command line refuses bad input with exit status 2 and one line on stderr, never a
traceback: a zero seed step, a dangling --out link, a resumed folder's hostile sweep.json,
folders or records, a crafted source record, a FIFO for prompts. Nothing is written outside --out."""

import json
import os
import shutil

import pytest

from sdwidget import Gallery, Runner, demo_pipeline
from sdwidget.sweep import main


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    run = Runner(demo_pipeline()).generate("a red circle on a black background", num_inference_steps=2, seed=1)
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")


@pytest.fixture(scope="module")
def finished(gallery, tmp_path_factory):
    """A real one-item sweep made by the command line, to be resumed in crafted copies."""
    out = tmp_path_factory.mktemp("sweeps") / "done"
    assert main([str(gallery), "--seeds", "3", "--out", str(out), "--no-progress"]) == 0
    assert (out / "images" / "p000-s3.png").is_file()
    return out


@pytest.fixture
def no_model_loads(monkeypatch):
    from sdwidget.sweep import prepare

    def refuse(*args):
        raise AssertionError("the model was loaded before the bad input was found")

    monkeypatch.setattr(prepare, "load", refuse)
    monkeypatch.setattr(prepare, "Runner", refuse)


def refused(capsys, *argv):
    """Runs the command line; asserts the refusal convention and returns the message."""
    assert main([str(a) for a in argv] + ["--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sdwidget sweep: error: ") and err.count("\n") == 1, err
    return err


def a_record(gallery, tmp_path, **params):
    """A sweep record (as runs.jsonl holds one) of the gallery's run, with ``params`` changed."""
    meta = json.loads((gallery / "run.json").read_text())
    record = {"params": {**meta["params"], **params}, "guidance": [s["guidance"] for s in meta["steps"]],
              "prompts": [], "status": "finished"}  # fmt: skip
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    return path


def test_a_zero_seed_step_is_refused(gallery, tmp_path, capsys, no_model_loads):
    err = refused(capsys, gallery, "--seeds", "0:10:0", "--out", tmp_path / "out")
    assert "the seed range 0:10:0 has a step of 0" in err and not (tmp_path / "out").exists()


def test_an_out_link_to_nothing_is_refused(gallery, tmp_path, capsys, no_model_loads):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    err = refused(capsys, gallery, "--seeds", "0:2", "--out", tmp_path / "out")
    assert f"{tmp_path / 'out'} is a symbolic link to nothing" in err and not (tmp_path / "gone").exists()


def test_a_deeply_nested_sweep_json_is_refused(gallery, tmp_path, capsys, no_model_loads):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sweep.json").write_text("[" * 100_000)
    err = refused(capsys, gallery, "--seeds", "0:2", "--out", tmp_path / "out")
    assert "sweep.json cannot be read (it is nested too deeply)" in err


def test_a_fifo_sweep_json_is_refused_without_blocking(gallery, tmp_path, capsys, no_model_loads):
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "sweep.json")
    err = refused(capsys, gallery, "--seeds", "0:2", "--out", tmp_path / "out")
    assert "sweep.json cannot be read (sweep.json is not a regular file)" in err


@pytest.mark.parametrize(
    "params, text",
    [
        ({"steps_run": 10**10}, "params.steps_run: Input should be less than or equal to 1999"),
        ({"steps_run": 10**20}, "params.steps_run: Input should be less than or equal to 1999"),
        ({"pipe_kwargs": [1, 2]}, "params.pipe_kwargs: Input should be a valid dictionary"),
    ],
)
def test_a_crafted_source_record_is_refused(gallery, tmp_path, capsys, no_model_loads, params, text):
    err = refused(capsys, a_record(gallery, tmp_path, **params), "--seeds", "0:2", "--out", tmp_path / "out")
    assert "the run record is not valid: its params are not a run's parameters: " in err and text in err


def test_a_fifo_prompts_file_is_refused_as_a_fifo_not_as_missing(gallery, tmp_path, capsys, no_model_loads):
    os.mkfifo(tmp_path / "prompts.txt")
    err = refused(capsys, gallery, "--seeds", "0:2", "--prompts", tmp_path / "prompts.txt", "--out", tmp_path / "o")
    assert f"the prompts file {tmp_path / 'prompts.txt'} is a FIFO; give a regular file" in err


def test_a_fifo_source_record_is_refused_as_a_fifo(tmp_path, capsys, no_model_loads):
    os.mkfifo(tmp_path / "record.json")
    err = refused(capsys, tmp_path / "record.json", "--seeds", "0:2", "--out", tmp_path / "o")
    assert f"the run record {tmp_path / 'record.json'} is a FIFO" in err


@pytest.mark.parametrize("name", ["images", "records"])
def test_a_resumed_folder_whose_images_or_records_is_a_link_is_refused(
    gallery, finished, tmp_path, capsys, no_model_loads, name
):
    out = shutil.copytree(finished, tmp_path / "out", symlinks=True)
    outside = tmp_path / "outside"
    shutil.move(out / name, outside)
    (out / name).symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())
    err = refused(capsys, gallery, "--seeds", "3:5", "--out", out)
    assert f"{out / name} is not a folder of its own (a link or a file)" in err
    assert sorted(p.name for p in outside.iterdir()) == before, "nothing written through the link"


def test_a_record_naming_an_outside_image_is_refused_and_never_drawn(gallery, finished, tmp_path, capsys):
    out = shutil.copytree(finished, tmp_path / "out")
    secret = tmp_path / "secret.png"
    shutil.copy(out / "images" / "p000-s3.png", secret)
    record = json.loads((out / "records" / "p000-s3.json").read_text())
    (out / "records" / "p000-s3.json").write_text(json.dumps({**record, "image": str(secret)}))
    grid = (out / "grid.png").read_bytes()
    err = refused(capsys, gallery, "--seeds", "3", "--out", out)
    assert f"records/p000-s3.json names the image {str(secret)[:80]!r}, not images/p000-s3.png" in err
    assert (out / "grid.png").read_bytes() == grid, "the grid was not redrawn"


def test_the_finished_sweep_resumes_cleanly(gallery, finished, tmp_path, capsys):
    out = shutil.copytree(finished, tmp_path / "out")
    assert main([str(gallery), "--seeds", "3", "--out", str(out), "--no-progress"]) == 0
    assert "sweep: 1 items, 0 failed" in capsys.readouterr().out
