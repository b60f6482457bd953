"""Which weights a sweep loads (issue #28 item 4): the dtype recorded and defaulted from the run,
--variant and --revision, and a model that cannot load refused before anything is written."""

import json

import pytest
import torch
from test_sweep_scale import gallery  # noqa: F401 - the fixture, shared

from sdwidget.sweep import SweepError, main, sweep
from sdwidget.sweep.weights import resolve_dtype


def test_a_folder_of_fp16_variant_weights_needs_variant_and_nothing_is_written_first(
    gallery,  # noqa: F811
    sd_pipe,
    tmp_path,
    capsys,
    recwarn,  # "sweeping on MODEL; the run was recorded on ..."
):
    model = tmp_path / "fp16-only"
    sd_pipe.save_pretrained(model, variant="fp16")
    capsys.readouterr()  # saving's own bars
    out = tmp_path / "out"
    base = [str(gallery), "--seeds", "0:2", "--steps", "2", "--model", str(model), "--out", str(out), "--no-progress"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{model} holds only fp16-variant weights; pass --variant fp16" in err
    assert (
        main([*base, "--variant", "bf16"]) == 2
        and "holds no bf16-variant weights; it has fp16" in capsys.readouterr().err
    )
    assert main([*base, "--revision", "main"]) == 2 and "--revision applies to a hub id" in capsys.readouterr().err
    assert not out.exists()
    (model / "unet" / "config.json").write_text("{")  # found, but it cannot load
    assert main([*base, "--variant", "fp16", "--dtype", "float32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the model {model} could not be loaded" in err
    assert not out.exists(), "nothing written: no sweep.json, no lock, no folder"


def test_the_dtype_is_recorded_and_defaults_to_the_runs(gallery, sd_pipe, tmp_path):  # noqa: F811
    sd_pipe.save_pretrained(tmp_path / "model")
    with pytest.warns(UserWarning, match="sweeping on"):
        records = sweep(
            gallery, seeds=[0], steps=2, model=str(tmp_path / "model"), out=tmp_path / "out", progress=False
        )
    identity = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert identity["dtype"] == records[0]["dtype"] == "float32" and identity["model"] == str(tmp_path / "model")
    assert resolve_dtype(None, {"dtype": "torch.float16"}, None, None) == "float16", "the run's own"
    assert resolve_dtype(None, {}, None, "fp16") == "float16" and resolve_dtype(None, {}, None, None) == "float32"
    assert resolve_dtype("bfloat16", {"dtype": "float16"}, None, None) == "bfloat16", "--dtype wins"
    half = type("Pipe", (), {"dtype": torch.bfloat16})()
    assert resolve_dtype(None, {}, half, None) == "bfloat16", "a given pipeline's"
    with pytest.raises(SweepError, match="dtype=float16 but the given pipeline is bfloat16"):
        resolve_dtype("float16", {}, half, None)
