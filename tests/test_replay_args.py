"""Replays pass again every argument a run started with; img2img records the size and the number
of steps it really ran, and its schedules have one value per step run."""

import numpy as np
import pytest
import torch
from PIL import Image

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing import tiny_sd_pipeline

ARGS = {"num_inference_steps": 10, "seed": 5, "negative_prompt": "blurry"}
IMAGE = Image.fromarray((np.random.RandomState(3).rand(64, 64, 3) * 255).astype(np.uint8))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def img2img():
    return tiny_sd_pipeline(kind="img2img")


def finished(run):
    assert run.wait(60) and run.status is RunStatus.FINISHED, run.traceback
    return run


def test_scalar_arguments_replay_from_a_run_and_a_gallery(sd_pipe, tmp_path):
    runner = Runner(sd_pipe, cpu_threads=1)
    run = runner.generate("a red star", guidance_scale=6.0, guidance_rescale=0.7, eta=0.3, **ARGS)
    assert run.params["pipe_kwargs"] == {"guidance_rescale": 0.7, "eta": 0.3} and run.params["inputs"] == []
    plain = runner.generate("a red star", guidance_scale=6.0, **ARGS)
    assert not torch.allclose(plain.latents, run.latents, atol=1e-3), "guidance_rescale shows in the result"
    assert torch.equal(finished(runner.replay(run)).latents, run.latents)
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.params["pipe_kwargs"] == {"guidance_rescale": 0.7, "eta": 0.3}
    assert torch.equal(finished(runner.replay(loaded)).latents, run.latents)
    overridden = finished(runner.replay(run, guidance_rescale=0.0))
    assert torch.equal(overridden.latents, plain.latents), "an override wins over the recorded argument"


def test_img2img_records_the_image_size_and_the_steps_it_ran(img2img, tmp_path):
    runner = Runner(img2img, cpu_threads=1)
    run = runner.generate("a red star", image=IMAGE, strength=0.6, guidance_schedule=[5.0] * 3 + [0.5] * 3, **ARGS)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert (run.params["height"], run.params["width"]) == (64, 64), "the image's size, not the UNet's 32"
    assert run.params["steps_run"] == 6 and len(run.steps) == 6 and run.guidance == [5.0] * 3 + [0.5] * 3
    assert run.params["pipe_kwargs"] == {"strength": 0.6} and run.params["inputs"] == ["image"]
    again = finished(runner.replay(run))  # the run's own image, without passing it again
    assert torch.equal(again.latents, run.latents) and again.guidance == run.guidance
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert torch.equal(finished(runner.replay(loaded)).latents, run.latents), "the gallery keeps the image"
    longer = finished(runner.replay(run, num_inference_steps=20))  # 12 steps: the curve stretched over them
    assert longer.guidance == [5.0] * 6 + [0.5] * 6


def test_img2img_arguments_are_checked_before_the_run(img2img):
    runner = Runner(img2img)
    with pytest.raises(ValueError, match="guidance_schedule has 10 values for 6 steps"):
        runner.start("a", image=IMAGE, strength=0.6, guidance_schedule=[5.0] * 10, **ARGS)
    with pytest.raises(TypeError, match="needs image="):
        runner.start("a", **ARGS)
    with pytest.raises(ValueError, match="takes its size from the image, 64×64 here"):
        runner.start("a", image=IMAGE, height=32, **ARGS)
    with pytest.raises(ValueError, match="resize it to 64×64"):
        runner.start("a", image=IMAGE.resize((66, 66)), **ARGS)
    with pytest.raises(ValueError, match="strength must be more than 0 and at most 1, got 1.5"):
        runner.start("a", image=IMAGE, strength=1.5, **ARGS)
    with pytest.raises(ValueError, match="10 × 0.05 leaves no step to run"):
        runner.start("a", image=IMAGE, strength=0.05, **ARGS)
    with pytest.raises(ValueError, match="pause_at must be between 1 and 6"):
        runner.start("a", image=IMAGE, strength=0.6, pause_at=[8], **ARGS)
    with pytest.raises(ValueError, match="has no IP-Adapter loaded: pipe.load_ip_adapter"):
        runner.start("a", image=IMAGE, ip_adapter_image=IMAGE, **ARGS)


@pytest.mark.parametrize("kind", ["inpaint", "multi-controlnet"])
def test_galleries_keep_masks_and_control_images(kind, tmp_path):
    runner = Runner(tiny_sd_pipeline(kind=kind), cpu_threads=1)
    mask = Image.fromarray(((np.arange(64) > 20)[None, :].repeat(64, 0) * 255).astype(np.uint8))
    images = {"image": IMAGE, "mask_image": mask} if kind == "inpaint" else {"image": [IMAGE, IMAGE.rotate(90)]}
    run = runner.generate("a red star", guidance_scale=5.0, **images, **ARGS)
    assert run.status is RunStatus.FINISHED, run.traceback
    folder = Gallery.from_run(run).save(tmp_path / "g")
    loaded = Gallery.load(folder)
    assert sorted(loaded.inputs) == run.params["inputs"] == sorted(images)
    assert torch.equal(finished(runner.replay(loaded)).latents, run.latents)
    (folder / "run.json").write_text((folder / "run.json").read_text().replace('"inputs/image', '"inputs/../image'))
    with pytest.raises(ValueError, match="not a valid sdwidget gallery"):
        Gallery.load(folder)
    images_free = Gallery.from_run(run)
    images_free.inputs = {}
    with pytest.raises(ValueError, match=r"started with image.*which this record does not hold; pass image=\.\.\."):
        runner.replay(Gallery.load(images_free.save(tmp_path / "bare")))
