"""What a sweep cannot load from a model folder (issue #28 item 4): a LoRA, a swapped VAE, a
textual inversion's tokens, recorded with the run and refused by name rather than dropped."""

import json

import diffusers
import numpy as np
import pytest
import torch
from PIL import Image

from sdwidget import Gallery, Runner
from sdwidget.core.extras import pipeline_extras, recorded_extras
from sdwidget.sweep import SweepError, main, sweep
from sdwidget.testing import tiny_sd_pipeline


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    tiny_sd_pipeline().save_pretrained(tmp / "model")
    tiny_sd_pipeline(seed=1).save_pretrained(tmp / "other")  # another VAE to swap in
    return tmp


def loaded(folder):
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def record(pipe, folder):
    """A run on ``pipe`` saved as a gallery; its params carry the extras ``run_params`` records."""
    run = Runner(pipe).generate("a <cat-toy>", num_inference_steps=2, seed=1)
    assert run.status.value == "finished", run.error
    assert run.params.get("extras") == recorded_extras(pipe).get("extras")
    return run, Gallery.from_run(run).save(folder)


def refused(capsys, gallery, model, out, line):
    """The CLI refuses with one line and status 2, writing nothing; so does the Python API."""
    capsys.readouterr()  # the test's own loading bars
    assert main([str(gallery), "--seeds", "0:2", "--model", str(model), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and line in err, err
    with pytest.raises(SweepError, match="which a model folder does not hold|does not have"):
        sweep(gallery, seeds="0:2", model=str(model), out=out, progress=False)
    assert not out.exists()


def swept_equals_replay(pipe, gallery, out):
    [item] = sweep(gallery, seeds=[0], model=pipe, out=out, progress=False)
    replay = Runner(pipe).replay(Gallery.load(gallery), seed=0)
    replay.wait()
    with Image.open(out / item["image"]) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(replay.image))


def test_a_plain_pipeline_records_nothing_and_its_params_are_as_they_were(folders, tmp_path):
    pipe = loaded(folders / "model")
    assert pipeline_extras(pipe) == {} and recorded_extras(pipe) == {}
    run, gallery = record(pipe, tmp_path / "gallery")
    assert "extras" not in run.params and "extras" not in json.loads((gallery / "run.json").read_text())["params"]


def test_a_swapped_vae_is_recorded_and_refused_by_name(folders, tmp_path, capsys):
    pipe = loaded(folders / "model")
    pipe.vae = diffusers.AutoencoderKL.from_pretrained(folders / "other" / "vae")
    assert pipeline_extras(pipe) == {"components": {"vae": str(folders / "other" / "vae")}}
    run, gallery = record(pipe, tmp_path / "gallery")
    assert Gallery.load(gallery).params["extras"] == {"components": {"vae": str(folders / "other" / "vae")}}
    line = f"the run was made with a vae loaded from {folders / 'other' / 'vae'}, which a model folder does not hold"
    refused(capsys, gallery, folders / "model", tmp_path / "out", line)
    with pytest.raises(SweepError, match=r"the given pipeline is not the run's: the run's vae came from .*other/vae, "):
        sweep(gallery, seeds=[0], model=loaded(folders / "model"), out=tmp_path / "plain", progress=False)
    swept_equals_replay(pipe, gallery, tmp_path / "same")  # the pipeline that has it sweeps


def test_textual_inversion_tokens_are_recorded_and_refused_where_the_tokenizer_lacks_them(folders, tmp_path, capsys):
    pipe = loaded(folders / "model")
    pipe.load_textual_inversion({"<cat-toy>": torch.randn(32)}, token="<cat-toy>")
    assert pipeline_extras(pipe) == {"tokens": {"tokenizer": ["<cat-toy>"]}}
    run, gallery = record(pipe, tmp_path / "gallery")
    line = "the run's tokenizer had tokens added to it (a textual inversion: <cat-toy>) that the model's tokenizer"
    refused(capsys, gallery, folders / "model", tmp_path / "out", line)
    swept_equals_replay(pipe, gallery, tmp_path / "same")
    pipe.save_pretrained(tmp_path / "with-tokens")  # saved with them: they are the folder's own now
    assert pipeline_extras(loaded(tmp_path / "with-tokens")) == {}
    with pytest.warns(UserWarning, match="sweeping on"):
        [item] = sweep(gallery, seeds=[1], model=str(tmp_path / "with-tokens"), out=tmp_path / "saved", progress=False)
    with Image.open(tmp_path / "saved" / item["image"]) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(run.image)), "the run, at its own seed"


def test_a_lora_is_recorded_as_diffusers_lists_it_and_refused(folders, tmp_path, capsys):
    pytest.importorskip("peft", reason="diffusers loads LoRAs through peft (the test extra installs it)")
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    trained = loaded(folders / "model")
    targets = ["to_q", "to_k", "to_v", "to_out.0"]
    trained.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    layers = get_peft_model_state_dict(trained.unet)
    diffusers.StableDiffusionPipeline.save_lora_weights(tmp_path / "lora", unet_lora_layers=layers)
    pipe = loaded(folders / "model")
    pipe.load_lora_weights(tmp_path / "lora", adapter_name="style")
    assert pipeline_extras(pipe) == {"adapters": pipe.get_list_adapters()} == {"adapters": {"unet": ["style"]}}
    run, gallery = record(pipe, tmp_path / "gallery")
    refused(capsys, gallery, folders / "model", tmp_path / "out", "the run was made with LoRA adapters (style on unet)")
    with pytest.raises(SweepError, match="the run had LoRA adapters style on unet, it has none"):
        sweep(gallery, seeds=[0], model=loaded(folders / "model"), out=tmp_path / "plain", progress=False)
    swept_equals_replay(pipe, gallery, tmp_path / "same")


def test_a_gallery_recording_a_lora_is_refused_where_peft_is_not_installed(folders, tmp_path, capsys):
    """A gallery made elsewhere with a LoRA (its run.json as a run with one records it)."""
    _, gallery = record(loaded(folders / "model"), tmp_path / "gallery")
    meta = json.loads((gallery / "run.json").read_text())
    meta["params"]["extras"] = {"adapters": {"unet": ["style", "detail"], "text_encoder": ["style"]}}
    (gallery / "run.json").write_text(json.dumps(meta))
    line = "LoRA adapters (style on unet, text_encoder; detail on unet), which a model folder does not hold"
    refused(capsys, gallery, folders / "model", tmp_path / "out", line)
    meta["params"]["extras"] = {"hypernetworks": ["x"]}  # a newer sdwidget's finding: refused, not dropped
    (gallery / "run.json").write_text(json.dumps(meta))
    with pytest.raises(SweepError, match=r"the run records extras this sdwidget cannot reproduce \(hypernetworks\)"):
        sweep(gallery, seeds="0:2", model=str(folders / "model"), out=tmp_path / "out", progress=False)
    meta["params"]["extras"] = {"adapters": {"unet": "style"}}
    (gallery / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"params.extras.adapters.unet: Input should be a valid list"):
        Gallery.load(gallery)
