"""What changes pixels is part of a sweep's identity (issue #28 item 6): threads, device type,
dtype and versions are recorded in sweep.json; a resume, or a process, that differs is refused."""

import json

import pytest
from test_sweep_scale import ThreadGroup, gallery, stop_after  # noqa: F401 - the fixture, shared

from sdwidget import demo_pipeline
from sdwidget.sweep import SweepError, group, prepare, sweep


def test_a_resume_with_other_threads_is_refused_saying_what_differs(gallery, tmp_path):  # noqa: F811
    out, demo = tmp_path / "out", demo_pipeline()
    with pytest.raises(KeyboardInterrupt):
        sweep(gallery, seeds="0:3", out=out, model=demo, steps=2, progress=False, callback=stop_after(1))
    recorded = json.loads((out / "sweep.json").read_text())["environment"]
    assert recorded["device"] == "cpu" and recorded["threads"] == 1 and recorded["dtype"] == "float32"
    assert recorded["versions"]["torch"] and recorded["versions"]["diffusers"]
    with pytest.raises(SweepError, match=r"threads 1 \(the folder's sweep\) → 2 \(this one\)\. Resume it with"):
        sweep(gallery, seeds="0:3", out=out, model=demo, steps=2, progress=False, threads=2)
    theirs = json.loads((out / "sweep.json").read_text())
    theirs["environment"]["versions"]["torch"] = "1.0.0"
    (out / "sweep.json").write_text(json.dumps(theirs))
    with pytest.raises(SweepError, match=r"torch 1\.0\.0 \(the folder's sweep\) → "):
        sweep(gallery, seeds="0:3", out=out, model=demo, steps=2, progress=False)
    del theirs["environment"]  # a folder from before environments were recorded resumes as it did
    (out / "sweep.json").write_text(json.dumps(theirs))
    assert len(sweep(gallery, seeds="0:3", out=out, model=demo, steps=2, progress=False)) == 3


def test_processes_that_would_draw_otherwise_are_refused_together(gallery, tmp_path, monkeypatch):  # noqa: F811
    real = prepare.environment

    def node2_has_another_gpu(*args):
        found = real(*args)
        return {**found, "device": "cuda: NVIDIA A100"} if group.process_group().rank == 1 else found

    monkeypatch.setattr(prepare, "environment", node2_has_another_gpu)
    models = [demo_pipeline(), demo_pipeline()]
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: sweep(
        gallery, seeds="0:2", out=tmp_path / "out", model=models[rank], steps=2, progress=False))  # fmt: skip
    assert all(isinstance(e, SweepError) for e in errors), errors
    assert "the processes of this launch differ: device cuda: NVIDIA A100 (another) → cpu (this one)" in str(errors[0])
    assert not (tmp_path / "out").exists()
