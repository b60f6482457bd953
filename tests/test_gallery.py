"""Step galleries: what a run records, its export and load, and exact replays of its guidance curve."""

import json

import numpy as np
import pytest
from conftest import at_step
from PIL import Image

from sdwidget import Gallery, Runner, RunStatus

ARGS = {"num_inference_steps": 12, "guidance_scale": 5.0, "seed": 3, "height": 32, "width": 32}


def tuned_run(runner, **extra):
    """A run whose guidance is changed by hand across 1.0 and back: 5 → 1 (CFG off) → 9."""
    undo = [
        at_step(runner, 3, lambda run: run.set_guidance(1.0)),
        at_step(runner, 7, lambda run: run.set_guidance(9.0)),
    ]
    try:
        run = runner.generate("a red star on a blue background", **ARGS, **extra)
    finally:
        for u in undo:
            u()
    assert run.status is RunStatus.FINISHED, run.traceback
    assert run.guidance == [5.0] * 4 + [1.0] * 4 + [9.0] * 4
    return run


def pixels(image):
    return np.asarray(image.convert("RGB"))


def test_record_holds_parameters_scheduler_and_model(runner, sd_pipe):
    run = runner.generate("a red star", **ARGS)
    p = run.params
    assert (p["prompt"], p["seed"], p["num_inference_steps"], p["height"], p["width"]) == ("a red star", 3, 12, 32, 32)
    assert p["scheduler"] == "EulerDiscreteScheduler" and p["pipeline"] == "StableDiffusionPipeline"
    config = p["scheduler_config"]
    assert config["beta_schedule"] == "scaled_linear" and config["num_train_timesteps"] == 1000
    assert p["model"] is None  # built from components, not loaded
    assert [s.duration > 0 for s in run.steps] == [True] * 12


def test_history_is_bounded_and_drops_the_oldest(sd_pipe):
    runner = Runner(sd_pipe, history=2)
    runs = [runner.generate("a red star", **{**ARGS, "num_inference_steps": 2}) for _ in range(3)]
    assert list(runner.history) == runs[1:]


def test_kept_latents_decode_any_step_at_full_size(sd_pipe):
    runner = Runner(sd_pipe)
    run = runner.generate("a red star", **ARGS, keep_latents=True)
    assert run.kept_steps == list(range(12))
    last = run.decode_step(11)
    assert last.size == (32, 32)
    assert np.abs(pixels(last).astype(int) - pixels(run.image)).max() <= 1  # x0 of the last step is the result
    assert not np.array_equal(pixels(run.decode_step(0)), pixels(last))
    with pytest.raises(RuntimeError, match="keep_latents=True"):
        runner.generate("a red star", **{**ARGS, "num_inference_steps": 2}).decode_step(0)


def test_decode_step_upcasts_an_fp16_vae_and_denormalises_as_sdxl_does():
    import copy

    import torch

    from sdwidget.core import decode_image
    from sdwidget.testing import tiny_sdxl_pipeline

    pipe = tiny_sdxl_pipeline()
    pipe.vae.half()  # as loaded with dtype=torch.float16; its config keeps force_upcast=True
    vae32 = copy.deepcopy(pipe.vae).float()
    latents = torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(0))

    @torch.no_grad()
    def reference(z):
        return pipe.image_processor.postprocess(vae32.decode(z).sample, output_type="pil")[0]

    scale = pipe.vae.config.scaling_factor
    assert np.array_equal(pixels(decode_image(pipe, latents)), pixels(reference(latents / scale)))
    assert pipe.vae.dtype == torch.float16, "the pipeline's own VAE is left in fp16"
    pipe.vae.register_to_config(force_upcast=False)
    assert not np.array_equal(pixels(decode_image(pipe, latents)), pixels(reference(latents / scale)))

    mean, std = [0.5, -0.5, 0.2, 0.0], [2.0, 0.5, 1.0, 1.5]
    pipe.vae.register_to_config(force_upcast=True, latents_mean=mean, latents_std=std)
    mean, std = (torch.tensor(v).view(1, 4, 1, 1) for v in (mean, std))
    expected = pixels(reference(latents * std / scale + mean))
    assert np.array_equal(pixels(decode_image(pipe, latents)), expected)
    assert not np.array_equal(expected, pixels(reference(latents / scale)))


def test_latent_budget_keeps_the_first_steps_and_says_which(sd_pipe):
    one_step = 4 * 16 * 16 * 4  # 4 channels × 16×16 latents (the tiny VAE halves the side) × float32 bytes
    run = Runner(sd_pipe, latent_budget=3 * one_step).generate("a red star", **ARGS, keep_latents=True)
    assert run.kept_steps == [0, 1, 2]
    with pytest.raises(KeyError, match="steps 0..2 were kept"):
        run.decode_step(5)


def test_export_then_load_round_trips_every_field(runner, tmp_path):
    run = tuned_run(runner)
    folder = Gallery.from_run(run).save(tmp_path / "g")
    loaded = Gallery.load(folder)
    saved = Gallery.from_run(run)
    assert loaded.metadata() == saved.metadata()
    assert loaded.params == run.params and loaded.status == "finished" and loaded.run_id == run.id
    assert loaded.guidance == run.guidance and loaded.requests == [[4, 1.0], [8, 9.0]]
    assert [s["timestep"] for s in loaded.steps] == [s.timestep for s in run.steps]
    assert [s["duration"] for s in loaded.steps] == [s.duration for s in run.steps]
    assert len(loaded.frames) == 12
    for a, event in zip(loaded.frames, run.steps, strict=True):
        assert np.array_equal(a, event.frame.numpy())
    assert np.array_equal(pixels(loaded.image), pixels(run.image))
    assert loaded.versions["diffusers"] == saved.versions["diffusers"] and loaded.folder == folder


def test_gallery_files_animations_sheet_and_png_metadata(runner, tmp_path):
    run = tuned_run(runner)
    folder = Gallery.from_run(run).save(tmp_path / "g")
    meta = json.loads((folder / "run.json").read_text())
    assert meta["files"]["steps"][0] == "steps/step-001.png" and len(meta["files"]["steps"]) == 12
    assert meta["versions"]["torch"] and meta["status"] == "finished"
    for name in ("steps.gif", "steps.webp"):
        with Image.open(folder / name) as anim:
            assert anim.n_frames == 12 and anim.is_animated
    with Image.open(folder / "steps/step-005.png") as png:
        assert json.loads(png.text["sdwidget"])["params"] == run.params
        step = json.loads(png.text["sdwidget-step"])
        assert step["step"] == 4 and step["guidance"] == 1.0 and step["cfg"] is False
        assert "CFG schedule: 5 5 5 5 1 1 1 1 9 9 9 9" in png.text["parameters"]
        assert "Seed: 3" in png.text["parameters"]
    with Image.open(folder / "final.png") as final:
        assert json.loads(final.text["sdwidget"])["status"] == "finished"
    with Image.open(folder / "contact-sheet.png") as sheet:
        assert sheet.size == (4 * 64, 3 * (16 + 14))  # 12 frames of 16 px in a 4×3 grid of 64 px wide cells
    if meta["files"]["mp4"] is not None:
        assert (folder / "steps.mp4").stat().st_size > 1000


def test_existing_gallery_is_never_overwritten(runner, tmp_path):
    run = runner.generate("a red star", **ARGS)
    folder = Gallery.from_run(run).save(tmp_path / "g")
    before = (folder / "run.json").read_bytes()
    with pytest.raises(FileExistsError, match="never overwritten"):
        Gallery.from_run(runner.generate("a blue circle", **ARGS)).save(folder)
    assert (folder / "run.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]  # no temporary folder left behind


def test_a_failed_write_leaves_nothing(runner, tmp_path, monkeypatch):
    from sdwidget.gallery import export as _export

    run = runner.generate("a red star", **ARGS)
    monkeypatch.setattr(_export, "contact_sheet", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        Gallery.from_run(run).save(tmp_path / "g")
    assert list(tmp_path.iterdir()) == []


def test_stopped_run_gallery_and_its_exact_replay(runner, tmp_path):
    undo = at_step(runner, 5, lambda run: run.stop())
    try:
        run = runner.generate("a red star", **ARGS)
    finally:
        undo()
    assert run.status is RunStatus.STOPPED and len(run.steps) == 6
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.status == "stopped" and len(loaded.frames) == 6 and loaded.image is not None
    again = runner.replay(loaded)
    again.wait()
    assert again.status is RunStatus.STOPPED and len(again.steps) == 6
    assert np.array_equal(pixels(again.image), pixels(run.image))


def test_failed_run_gallery_keeps_the_error_and_the_recorded_steps(runner, sd_pipe, tmp_path):
    calls = []

    def explode(module, args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom in the unet")

    handle = sd_pipe.unet.register_forward_pre_hook(explode)
    try:
        run = runner.generate("a red star", **ARGS)
    finally:
        handle.remove()
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.status == "failed" and loaded.error == "RuntimeError: boom in the unet"
    assert len(loaded.frames) == 2 and loaded.image is None


def test_replay_of_a_hand_tuned_curve_is_exact(runner, tmp_path):
    run = tuned_run(runner, keep_latents=True)
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    for source in (run, loaded):
        again = runner.replay(source)
        again.wait()
        assert again.guidance == run.guidance and [s.cfg for s in again.steps] == [s.cfg for s in run.steps]
        assert np.array_equal(pixels(again.image), pixels(run.image))
        assert again.latents.allclose(run.latents, atol=1e-6, rtol=0)
    constant = runner.generate("a red star on a blue background", **ARGS)
    assert not np.array_equal(pixels(constant.image), pixels(run.image)), "the curve must matter"


def test_replay_with_a_new_seed_prompt_or_length_applies_the_same_curve(runner):
    run = tuned_run(runner)
    other = runner.replay(run, seed=11, prompt="a green ring")
    other.wait()
    assert other.guidance == run.guidance and other.params["seed"] == 11
    assert not np.array_equal(pixels(other.image), pixels(run.image))
    longer = runner.replay(run, num_inference_steps=24)
    longer.wait()
    assert longer.guidance == [5.0] * 8 + [1.0] * 8 + [9.0] * 8


def test_guidance_schedule_as_list_or_function(runner):
    curve = [7.0 - 0.5 * i for i in range(12)]
    by_list = runner.generate("a red star", **ARGS, guidance_schedule=curve)
    assert by_list.guidance == curve and by_list.params["guidance_scale"] == 7.0
    by_fn = runner.generate("a red star", **ARGS, guidance_schedule=lambda step: 7.0 - 0.5 * step)
    assert by_fn.guidance == curve
    assert np.array_equal(pixels(by_fn.image), pixels(by_list.image))
    assert [s.cfg for s in by_list.steps] == [g > 1 for g in curve]


def test_a_hand_change_takes_over_from_a_schedule(runner):
    undo = at_step(runner, 4, lambda run: run.set_guidance(2.0))
    try:
        run = runner.generate("a red star", **ARGS, guidance_schedule=[float(i) for i in range(12)])
    finally:
        undo()
    assert run.guidance == [0.0, 1.0, 2.0, 3.0, 4.0] + [2.0] * 7


@pytest.mark.parametrize(
    ("schedule", "error", "match"),
    [
        ([5.0] * 3, ValueError, "3 values for 12 steps"),
        ("5,5,5", TypeError, "list of numbers or a function"),
        ([5.0] * 11 + [float("nan")], ValueError, "finite"),
        (lambda step: "high", TypeError, r"guidance_schedule\(0\)"),
        (lambda step: 200.0, ValueError, "between 0 and 100"),
    ],
)
def test_bad_schedules_are_refused_before_the_run(runner, schedule, error, match):
    with pytest.raises(error, match=match):
        runner.start("a red star", **ARGS, guidance_schedule=schedule)
    assert runner.run is None


def test_replay_on_another_scheduler_warns(runner, tmp_path):
    from sdwidget.testing import tiny_sd_pipeline

    run = runner.generate("a red star", **ARGS)
    other = Runner(tiny_sd_pipeline(scheduler="ddim"))
    with pytest.warns(UserWarning, match="will not match"):
        other.replay(run).wait()
