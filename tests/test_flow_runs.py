"""SD3 and Flux runs as a user keeps them: replayed from a gallery, branched, previewed and
decoded; and the arguments that cannot be steered refused before the run."""

import io
import threading

import numpy as np
import pytest
import torch
from conftest import at_step
from diffusers import AutoencoderKL, StableDiffusion3Img2ImgPipeline
from PIL import Image
from test_flow_families import NEGATIVE, PROMPT, SEED, SIZE, STEPS, TOKENS
from test_widget import GENERATE, Browser, wait_for

from sdwidget import Gallery, Runner, RunStatus, SamplerWidget
from sdwidget.preview.published import FLUX_FACTORS, SD3_FACTORS, known_map
from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline

EXTRA = {"sd3": {}, "flux-dev": {"max_sequence_length": TOKENS, "true_cfg_scale": 3.0},
         "flux-schnell": {"max_sequence_length": TOKENS}}  # fmt: skip


@pytest.fixture(scope="module")
def pipes():
    return {"sd3": tiny_sd3_pipeline(), "flux-dev": tiny_flux_pipeline(), "flux-schnell": tiny_flux_pipeline(
        guidance_embeds=False)}  # fmt: skip


def generate(runner, kind, **kwargs):
    run = runner.generate(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE,
        **EXTRA[kind], **kwargs,
    )  # fmt: skip
    assert run.status is RunStatus.FINISHED, run.traceback
    return run


@pytest.mark.parametrize("kind", list(EXTRA))
def test_a_steered_run_replays_from_its_gallery_exactly(pipes, kind, tmp_path):
    runner = Runner(pipes[kind], cpu_threads=1)
    hands = [
        at_step(runner, 2, lambda run: run.set_guidance(0.7)),
        at_step(runner, 4, lambda run: runner.set_prompt("a green circle")),
    ]
    run = generate(runner, kind, guidance_scale=4.0, num_images_per_prompt=2)
    for undo in hands:  # the replay alone must bring them back
        undo()
    assert run.params["pipe_kwargs"] == {**EXTRA[kind], "num_images_per_prompt": 2}
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / kind))
    again = runner.replay(loaded)
    assert again.wait(60) and again.status is RunStatus.FINISHED, again.traceback
    assert again.guidance == run.guidance == [4.0] * 3 + [0.7] * (STEPS - 3)
    assert again.prompts == run.prompts and torch.equal(again.latents, run.latents)
    assert [np.asarray(image).tolist() for image in again.images] == [np.asarray(i).tolist() for i in run.images]


@pytest.mark.parametrize("kind", list(EXTRA))
def test_a_branch_across_one_equals_a_fresh_run(pipes, kind):
    runner = Runner(pipes[kind], cpu_threads=1)
    parent = generate(runner, kind, guidance_scale=5.0)
    assert parent.branchable == STEPS  # Flux's two transformer calls a step keep one output
    child = runner.branch(parent, 3, guidance_scale=0.8)
    assert child.wait(60) and child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [5.0] * 3 + [0.8] * (STEPS - 3)
    fresh = generate(runner, kind, guidance_schedule=child.guidance)
    assert torch.equal(child.latents, fresh.latents)
    assert not torch.equal(child.latents, parent.latents)


@pytest.mark.parametrize("kind", list(EXTRA))
def test_frames_are_images_and_the_last_step_decodes_to_the_final_image(pipes, kind):
    """Flux's packed latents are unpacked for previews and kept latents, and SD3's and Flux's are
    decoded with their VAE's shift factor: the last step's decode equals the pipeline's image."""
    run = generate(Runner(pipes[kind], cpu_threads=1), kind, guidance_scale=3.0, keep_latents=True)
    side = SIZE // pipes[kind].vae_scale_factor
    assert {step.frame.size for step in run.steps} == {(side, side)}
    assert run.latents.shape == (1, 16, side, side)
    decoded = np.asarray(run.decode_step(STEPS - 1)).astype(int)
    assert np.abs(decoded - np.asarray(run.image).astype(int)).max() <= 1


def test_sd3_and_flux_vaes_get_their_published_maps():
    config = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), latent_channels=16, norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    ).config  # fmt: skip
    for (scale, shift), factors in {(1.5305, 0.0609): SD3_FACTORS, (0.3611, 0.1159): FLUX_FACTORS}.items():
        weight, _ = known_map(type(config)(**{**config, "scaling_factor": scale, "shift_factor": shift}))
        assert torch.equal(weight, torch.tensor(factors)) and weight.shape == (16, 3)
    assert known_map(type(config)(**{**config, "scaling_factor": 1.5305})) is None  # no shift: not SD3's
    assert known_map(tiny_sd3_pipeline().vae.config) is None  # the tiny VAE: a fitted map


def test_what_cannot_be_steered_is_refused_before_the_run(pipes):
    with pytest.raises(TypeError, match="skip_guidance_layers .* cannot be steered"):
        Runner(pipes["sd3"]).start(PROMPT, skip_guidance_layers=[0])
    with pytest.raises(TypeError, match="no guidance embedding, so guidance_scale is its true CFG scale"):
        Runner(pipes["flux-schnell"]).start(PROMPT, true_cfg_scale=4.0)
    with pytest.raises(ValueError, match="true_cfg_scale must be between 0 and"):
        Runner(pipes["flux-dev"]).start(PROMPT, true_cfg_scale=-1.0)
    with pytest.raises(ValueError, match="multiple of 8"):
        Runner(pipes["flux-dev"]).start(PROMPT, height=36, width=32)
    img2img = StableDiffusion3Img2ImgPipeline(**pipes["sd3"].components)
    with pytest.raises(TypeError, match="StableDiffusion3Img2ImgPipeline has no unet .* has not checked its loop"):
        Runner(img2img)


@pytest.mark.parametrize(("kind", "curve"), [("flux-dev", "distilled"), ("flux-schnell", "cfg"), ("sd3", "cfg")])
def test_the_widget_streams_and_steers_sd3_and_flux_runs(pipes, kind, curve):
    """From the browser's messages, as a person drives it: a frame per step, a guidance change at
    the next step; the curve is told whether 1.0 is a CFG switch (not for Flux's distilled guidance)."""
    widget = SamplerWidget(pipes[kind], pace=0)
    assert widget.guidance_kind == curve and widget.guidance == (3.5 if curve == "distilled" else 7.5)
    browser = Browser(widget)
    gate = threading.Event()
    at_step(widget.runner, 3, lambda run: gate.wait(10))
    browser.say({**GENERATE, "guidance": 4.0})
    wait_for(lambda: len(widget.runner.run.steps) == 4)
    browser.say({"type": "guidance", "value": 0.5})
    gate.set()
    widget.runner.run.wait()
    wait_for(lambda: widget.status == "finished")
    assert widget.applied == [4.0] * 4 + [0.5] * 8 and widget.message == ""
    side = SIZE // pipes[kind].vae_scale_factor
    frames = browser.frames()
    assert [meta["step"] for meta, _ in frames] == list(range(12))
    assert {Image.open(io.BytesIO(buf)).size for _, buf in frames} == {(side, side)}
    widget.close()


@pytest.mark.usefixtures("one_thread")
def test_schnell_without_a_negative_prompt_guides_against_the_empty_one(pipes):
    """The README's default: above 1.0 a schnell-kind model runs true CFG against "" (the bare
    pipeline would need negative_prompt="" to run it at all)."""
    pipe = pipes["flux-schnell"]
    args = {"num_inference_steps": STEPS, "height": SIZE, "width": SIZE, "max_sequence_length": TOKENS}
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, guidance_scale=4.0, seed=SEED, **args)
    assert run.status is RunStatus.FINISHED and [step.cfg for step in run.steps] == [True] * STEPS
    bare = pipe(PROMPT, negative_prompt="", true_cfg_scale=4.0, generator=torch.Generator().manual_seed(SEED),
                output_type="latent", **args).images  # fmt: skip
    assert torch.equal(run.latents, pipe._unpack_latents(bare, SIZE, SIZE, pipe.vae_scale_factor))
