"""The runner on pipelines loaded the real way: ``from_pretrained`` on a local folder, offline."""

import os

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from sdwidget import Gallery, Runner, RunStatus


def test_tiny_tokenizer_tells_prompts_apart(sd_pipe, sdxl_pipe):
    # The trap: a broken offline tokenizer makes every prompt look empty and CFG a silent no-op.
    for tokenizer in (sd_pipe.tokenizer, sdxl_pipe.tokenizer, sdxl_pipe.tokenizer_2):
        assert tokenizer("a red star").input_ids != tokenizer("a blue ring").input_ids
        assert tokenizer("a red star").input_ids != tokenizer("").input_ids


def test_runs_on_pipelines_loaded_from_disk(tmp_path, sd_pipe, sdxl_pipe):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    for pipe, cls in ((sd_pipe, StableDiffusionPipeline), (sdxl_pipe, StableDiffusionXLPipeline)):
        folder = tmp_path / cls.__name__
        pipe.save_pretrained(folder)
        loaded = cls.from_pretrained(folder, local_files_only=True)
        loaded.set_progress_bar_config(disable=True)
        args = {"num_inference_steps": 4, "guidance_scale": 4.0, "seed": 5, "height": 64, "width": 64}
        original = Runner(pipe).generate("a red star", **args)
        again = Runner(loaded).generate("a red star", **args)
        assert again.status is RunStatus.FINISHED
        assert torch.allclose(original.latents, again.latents, atol=1e-6)
        # Loaded from a Path, the model is recorded as text and the gallery can be written.
        assert original.params["model"] is None and again.params["model"] == str(folder)
        assert Gallery.load(Gallery.from_run(again).save(tmp_path / f"gallery-{cls.__name__}")).params["model"] == str(
            folder
        )
