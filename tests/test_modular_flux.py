"""Modular Flux (``FluxModularPipeline``, FLUX.1-dev kind) steered through its distilled guidance,
against the modular pipeline itself.

Its blocks have no guider: the transformer's ``guidance`` input is built once into the block
state from ``guidance_scale``. The reference side is diffusers alone: the modular pipeline's own
call (tests/modular_refs.py), with a block written here (``SetAt``) inserted first in its denoise
loop that puts another ``guidance`` tensor (built as ``FluxSetTimestepsStep`` builds it) or other
prompt tensors into the block state at the start of given steps. No sdwidget code there.
"""

import modular_refs
import pytest
import torch
from conftest import at_step
from diffusers.modular_pipelines import FluxKontextAutoBlocks, ModularPipelineBlocks
from diffusers.modular_pipelines.flux.decoders import _unpack_latents
from diffusers.modular_pipelines.flux.encoders import FluxTextEncoderStep
from modular_refs import EDIT, PROMPT, SEED, SIZE, guidance, loops

from sdwidget import Gallery, Runner, RunStatus
from sdwidget.testing.modular import tiny_modular_flux_pipeline

STEPS = 6


class SetAt(ModularPipelineBlocks):
    """At the start of step i, the block state's ``guidance`` (a value) or prompt tensors given for i."""

    model_name = "flux"

    def __init__(self, changes):
        super().__init__()
        self.changes = changes

    @property
    def inputs(self):
        return []

    def __call__(self, components, block_state, i, t):
        for name, value in self.changes.get(i, {}).items():
            if name == "guidance":
                value = torch.full([1], value, dtype=torch.float32).expand(block_state.guidance.shape[0])
            setattr(block_state, name, value)
        return components, block_state


def reference(pipe, changes, guidance=3.5, **kwargs):
    return modular_refs.reference(pipe, SetAt(changes), guidance_scale=guidance, num_inference_steps=STEPS, **kwargs)


def steered(pipe, changes=(), guidance=3.5, **kwargs):
    return modular_refs.steered(pipe, changes, num_inference_steps=STEPS, guidance_scale=guidance, **kwargs)


@pytest.fixture(scope="module")
def pipe():
    return tiny_modular_flux_pipeline()


def test_at_constant_guidance_a_steered_run_equals_the_pipelines_own(pipe):
    runner, run = steered(pipe, guidance=5.0, num_images_per_prompt=2)
    expected = reference(pipe, {}, guidance=5.0, num_images_per_prompt=2)
    assert torch.equal(run.latents, expected), (run.latents - expected).abs().max()
    assert len(run.images) == 2 and run.guidance == [5.0] * STEPS
    assert not torch.equal(run.latents, reference(pipe, {}, guidance=2.0, num_images_per_prompt=2))
    assert runner.knobs[0]["kind"] == "distilled" and len(runner.knobs) == 1


def test_guidance_changed_at_two_steps_equals_the_reference_loop(pipe):
    _, run = steered(pipe, [(1, guidance(1.0)), (3, guidance(6.0))])
    assert run.guidance == [3.5, 3.5, 1.0, 1.0, 6.0, 6.0]
    assert not any(step.cfg for step in run.steps), "one transformer pass a step whatever the value"
    expected = reference(pipe, {2: {"guidance": 1.0}, 4: {"guidance": 6.0}})
    assert torch.equal(run.latents, expected), (run.latents - expected).abs().max()
    assert not torch.equal(run.latents, reference(pipe, {})), "the changes changed it"


def test_a_branch_and_a_gallery_replay_are_exact(pipe, tmp_path):
    runner, parent = steered(pipe, [(1, guidance(1.0))])
    runner._observers.clear()  # the branch is steered by its arguments alone
    child = runner.branch(parent, 3, guidance_scale=7.0)
    child.wait()
    assert child.status is RunStatus.FINISHED, child.traceback
    assert child.guidance == [3.5, 3.5, 1.0, 7.0, 7.0, 7.0]
    expected = reference(pipe, {2: {"guidance": 1.0}, 3: {"guidance": 7.0}})
    assert torch.equal(child.latents, expected) and not torch.equal(child.latents, parent.latents)
    Gallery.from_run(child).save(tmp_path / "g")
    again = runner.replay(Gallery.load(tmp_path / "g"))
    again.wait()
    assert again.guidance == child.guidance and torch.equal(again.latents, child.latents)


def test_a_prompt_edit_mid_run_equals_the_reference(pipe):
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    at_step(runner, 2, lambda run: runner.set_prompt(EDIT))
    run = runner.generate(PROMPT, num_inference_steps=STEPS, guidance_scale=3.5, seed=SEED, height=SIZE, width=SIZE)
    with torch.no_grad():  # as the text encoder block encodes (with grad, T5's attention rounds otherwise)
        cond, pooled = FluxTextEncoderStep.encode_prompt(pipe, EDIT, None, device=torch.device("cpu"))
    expected = reference(pipe, {3: {"prompt_embeds": cond, "pooled_prompt_embeds": pooled}})
    assert torch.equal(run.latents, expected) and not torch.equal(run.latents, reference(pipe, {}))


def test_a_paid_lens_equals_the_loop_applying_that_value(pipe):
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    run = runner.generate(PROMPT, num_inference_steps=STEPS, guidance_scale=3.5, seed=SEED, height=SIZE, width=SIZE,
                          keep_latents=True)  # fmt: skip
    with pytest.raises(ValueError, match="paid=True"):
        run.lens(2, 7.0)
    lens = run.lens(2, 7.0, paid=True)
    seen = []  # the reference's transformer inputs and outputs, step by step (one call a step)
    hook = pipe.transformer.register_forward_hook(
        lambda module, args, kwargs, out: seen.append((kwargs["hidden_states"], out[0])), with_kwargs=True
    )
    try:
        reference(pipe, {2: {"guidance": 7.0}})
    finally:
        hook.remove()
    sample, out = seen[2]  # x0 as FlowMatch defines it, unpacked as the blocks' unpack step does
    expected = _unpack_latents(sample - pipe.scheduler.sigmas[2] * out, SIZE, SIZE, pipe.vae_scale_factor)
    difference = (lens.latents - expected).abs().max().item()
    print(f"modular Flux paid lens at 7.0 vs the pipeline's loop: max |diff| {difference:.3g}")
    assert torch.equal(lens.latents, expected) and not torch.allclose(expected, run.plan.keep.get(2)), difference
    branch = runner.branch(run, 2, guidance_schedule=[7.0] + [3.5] * (STEPS - 3), keep_latents=True)
    branch.wait()
    assert branch.error is None, branch.traceback
    assert torch.equal(lens.latents, branch.plan.keep.get(2)), "what a branch applying it there previews"


def test_a_stopped_run_decodes_its_last_estimate(pipe):
    runner = Runner(pipe)
    at_step(runner, 1, lambda run: run.stop())
    run = runner.generate(PROMPT, num_inference_steps=STEPS, height=SIZE, width=SIZE, seed=SEED)
    assert run.status is RunStatus.STOPPED and len(run.steps) == 2 and run.image.size == (SIZE, SIZE)
    assert "sdwidget_step" not in str(list(loops(pipe._blocks))[0].sub_blocks), "the blocks are put back"


def test_what_cannot_be_steered_is_refused_with_the_reason(pipe):
    runner = Runner(pipe)
    with pytest.raises(ValueError, match="guidance is distilled, with no value that switches it off"):
        runner.start(PROMPT, num_inference_steps=STEPS, guidance_interval=(1, 4))
    failed = runner.generate(PROMPT, negative_prompt="blurry", num_inference_steps=2, height=SIZE, width=SIZE)
    assert failed.status is RunStatus.FAILED and isinstance(failed.error, ValueError)
    assert "has no negative prompt" in str(failed.error), "refused as it is encoded, before any step"
    assert failed.steps == []
    with pytest.raises(TypeError, match="'image' cannot be passed"):
        runner.start(PROMPT, image=torch.zeros(1, 3, SIZE, SIZE))
    with pytest.raises(TypeError, match="has no guider to swap"):
        runner.set_guider("AdaptiveProjectedGuidance")
    with pytest.raises(TypeError, match="no guidance embedding.*FLUX.1-schnell.*nothing to steer"):
        Runner(tiny_modular_flux_pipeline(guidance_embeds=False))
    kontext = FluxKontextAutoBlocks().init_pipeline()
    kontext.update_components(**{name: part for name, part in pipe.components.items() if name in kontext.components})
    with pytest.raises(TypeError, match="FluxKontextModularPipeline is a modular pipeline sdwidget has not checked"):
        Runner(kontext)
