"""Sweeps of image-input runs (issue #28 item 5): img2img, inpaint and ControlNet galleries swept
with their saved images, on the model folder loaded as the run's own pipeline class."""

import json

import diffusers
import numpy as np
import pytest
from PIL import Image

from sdwidget import Gallery, Runner, StepEvent
from sdwidget.sweep import SweepError, load_source, sweep
from sdwidget.testing import tiny_sd_pipeline

SIZE = 32
KINDS = {  # kind: the pipeline class the run records, and its image arguments
    "img2img": ("StableDiffusionImg2ImgPipeline", ["image"]),
    "inpaint": ("StableDiffusionInpaintPipeline", ["image", "mask_image"]),
    "controlnet": ("StableDiffusionControlNetPipeline", ["image"]),
}


def images(kind, shift=0):
    noise = np.random.default_rng(shift).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    args = {"image": Image.fromarray(noise)}
    if kind == "inpaint":
        mask = Image.new("L", (SIZE, SIZE), 0)
        mask.paste(255, (8, 8, 24, 24))
        args["mask_image"] = mask
    return args if kind == "controlnet" else {**args, "strength": 0.75}


def gallery_of(pipe, kind, folder, shift=0):
    """A run steered by hand (guidance 5 → 1.5 at step 2), recorded with its images."""

    def steer(event):
        if isinstance(event, StepEvent) and event.step == 1:
            event.run.set_guidance(1.5)

    runner = Runner(pipe)
    runner.observe(steer)
    run = runner.generate("a red star", num_inference_steps=4, guidance_scale=5.0, seed=1, **images(kind, shift))
    assert run.status.value == "finished" and run.guidance[0] == 5.0 and run.guidance[-1] == 1.5
    return run, Gallery.from_run(run).save(folder)


@pytest.fixture(scope="module", params=list(KINDS))
def swept(request, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp(kind)
    tiny_sd_pipeline(kind=kind).save_pretrained(tmp / "model")
    cls = getattr(diffusers, KINDS[kind][0])
    pipe = cls.from_pretrained(tmp / "model", local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    run, gallery = gallery_of(pipe, kind, tmp / "gallery")
    records = sweep(gallery, seeds="0:2", model=str(tmp / "model"), out=tmp / "out", progress=False)
    return kind, tmp, pipe, run, gallery, records


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_every_item_equals_a_python_replay_of_the_gallery_with_its_seed(swept):
    kind, tmp, pipe, run, gallery, records = swept
    assert [(r["seed"], r["status"], r["error"]) for r in records] == [(0, "finished", None), (1, "finished", None)]
    for record in records:
        assert record["params"]["pipeline"] == KINDS[kind][0] and record["params"]["inputs"] == KINDS[kind][1]
        assert record["guidance"] == run.guidance, "the curve steered by hand"
        replay = Runner(pipe).replay(Gallery.load(gallery), seed=record["seed"])
        replay.wait()
        assert np.array_equal(np.asarray(replay.image), pixels(tmp / "out" / record["image"])), record["name"]
    assert np.array_equal(pixels(tmp / "out" / records[1]["image"]), np.asarray(run.image)), "seed 1 is the run"
    assert not np.array_equal(pixels(tmp / "out" / records[0]["image"]), np.asarray(run.image))


def test_the_images_are_kept_in_the_folder_named_in_its_identity_and_a_record_replays_alone(swept):
    kind, tmp, pipe, run, gallery, records = swept
    out = tmp / "out"
    identity = json.loads((out / "sweep.json").read_text())
    assert sorted(identity["source"]["inputs"]) == KINDS[kind][1]
    assert all(digest.startswith("sha256:") for digest in identity["source"]["inputs"].values())
    for name in KINDS[kind][1]:
        assert records[0]["inputs"][name] == f"inputs/{name}.png"
        kept = np.asarray(Image.open(out / "inputs" / f"{name}.png").convert("RGB"))
        assert np.array_equal(kept, np.asarray(Gallery.load(gallery).inputs[name]))
    again = Runner(pipe).replay(load_source(out / "records" / f"{records[0]['name']}.json"))
    again.wait()
    assert np.array_equal(np.asarray(again.image), pixels(out / records[0]["image"]))
    with pytest.raises(SweepError, match="kept in its sweep's folder: load it from that folder's records/NAME.json"):
        load_source(records[0])  # a line of runs.jsonl has no folder to read its images from


def test_a_record_naming_images_outside_its_folder_or_through_a_link_is_refused(swept, tmp_path):
    kind, tmp, pipe, run, gallery, records = swept
    folder = tmp_path / "crafted"
    (folder / "records").mkdir(parents=True)
    (folder / "inputs").mkdir()
    (folder / "inputs" / "image.png").symlink_to(tmp / "out" / "inputs" / "image.png")
    cases = {
        "../../x.png": "the run record's inputs are not image files of a sweep",
        "inputs/image.png": "is reached through a symbolic link",
    }
    for name, why in cases.items():
        (folder / "records" / "p000-s0.json").write_text(json.dumps({**records[0], "inputs": {"image": name}}))
        with pytest.raises(SweepError, match=why):
            load_source(folder / "records" / "p000-s0.json")


def test_a_resume_with_other_images_is_another_sweep(swept):
    kind, tmp, pipe, run, gallery, records = swept
    _, other = gallery_of(pipe, kind, tmp / "other-gallery", shift=1)
    with pytest.raises(SweepError, match=r"holds another sweep's files \(its sweep.json differs in source\)"):
        sweep(other, seeds="0:2", model=str(tmp / "model"), out=tmp / "out", progress=False)


def test_a_given_pipeline_must_take_the_runs_images(swept):
    kind, tmp, pipe, run, gallery, records = swept
    text2img = diffusers.StableDiffusionPipeline.from_pipe(pipe)
    if kind == "controlnet":  # StableDiffusionPipeline takes no image at all
        match = "the given StableDiffusionPipeline takes no image: give a StableDiffusionControlNetPipeline"
    else:
        match = f"takes no {', '.join(KINDS[kind][1])}: give a {KINDS[kind][0]}"
    with pytest.raises(SweepError, match=match):
        sweep(gallery, seeds="0:2", model=text2img, out=tmp / "refused", progress=False)
    assert not (tmp / "refused").exists()
