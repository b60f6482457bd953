"""The guidance lens on the families that combine guidance in their own steering (Chroma, Qwen-Image,
FLUX.2 [klein]) or in a loop whose halves the tap keeps as its scheduler takes them (Z-Image): a step
seen at another value equals, to 1e-6, the x0 a branch applying that value at that step previews,
with no transformer call; a held Chroma step's lens costs its own calls once, and Next step applies
the value set while it was held. Modular SDXL's guiders have none, and say why."""

import diffusers
import numpy as np
import pytest
import torch

from sdwidget import Runner
from sdwidget.testing import (
    tiny_chroma_pipeline,
    tiny_flux2_klein_pipeline,
    tiny_modular_sdxl_pipeline,
    tiny_qwen_image_pipeline,
    tiny_z_image_pipeline,
)

STEPS, K, SEED, SIZE = 5, 2, 7, 32
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"

# name: (pipeline, a module every transformer computation runs once, run's guidance, lens values, arguments)
FAMILIES = {
    "chroma": (tiny_chroma_pipeline, "x_embedder", 5.0, (9.0, 2.5, 0.5), {"max_sequence_length": 16}),
    "qwen-image": (tiny_qwen_image_pipeline, "img_in", 5.0, (9.0, 2.5, 0.5), {}),
    "z-image": (tiny_z_image_pipeline, "t_embedder", 4.0, (7.0, 1.5), {"cfg_normalization": True}),
    "flux2-klein": (tiny_flux2_klein_pipeline, "x_embedder", 5.0, (9.0, 2.5, 0.5), {"max_sequence_length": 96}),
}

pytestmark = pytest.mark.usefixtures("one_thread")


class Calls:
    """The pipeline's transformer calls (a forward pre-hook sees each, wrapped or not), and the
    transformer's computations (a pre-hook on a module each runs once: a steer's own calls too)."""

    def __init__(self, transformer, inner):
        self.calls = self.computed = 0
        self.handles = [
            transformer.register_forward_pre_hook(lambda *_: self._add("calls")),
            getattr(transformer, inner).register_forward_pre_hook(lambda *_: self._add("computed")),
        ]

    def _add(self, name):
        setattr(self, name, getattr(self, name) + 1)

    def remove(self):
        for handle in self.handles:
            handle.remove()


def generate(runner, extra, **kwargs):
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    return runner.generate(PROMPT, **args, **extra, **kwargs)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_lens_equals_branch_applying_the_value_at_that_step(family):
    make, inner, guidance, values, extra = FAMILIES[family]
    pipe = make()
    runner = Runner(pipe, cpu_threads=1)
    run = generate(runner, extra, guidance_scale=guidance, keep_latents=True)
    assert run.error is None, run.traceback
    calls = Calls(pipe.transformer, inner)
    lenses = {g: run.lens(K, g) for g in (*values, guidance)}
    views = run.lens_views(K)
    effect = run.guidance_effect()
    assert (calls.calls, calls.computed) == (0, 0), "a lens needs no model call"
    assert lenses[guidance].applied and not any(lenses[g].applied for g in values)
    assert torch.equal(lenses[guidance].latents, run.plan.keep.get(K)), "the lens at the value run is the step's own x0"
    assert np.array_equal(views["guided"].numpy(), runner.preview.frame(run.plan.keep.get(K), last=True).numpy())
    assert views["unconditional"] is not None and all(e is not None and e > 0 for e in effect)
    for g in values:
        branch = runner.branch(run, K, guidance_schedule=[g] + [guidance] * (STEPS - K - 1), keep_latents=True)
        branch.wait()
        assert branch.error is None, branch.traceback
        reference = branch.plan.keep.get(K)
        difference = (lenses[g].latents - reference).abs().max().item()
        print(f"{family} lens at {g} vs branch: max |diff| {difference:.3g}")
        assert difference <= 1e-6 and not torch.equal(reference, run.plan.keep.get(K))
    # The counter counts: each branch computed its own steps, two calls a CFG step (Z-Image: one, batched).
    calls_at = {g: 1 if family == "z-image" or g <= 1 else 2 for g in (*values, guidance)}
    assert calls.computed == sum(calls_at[g] + calls_at[guidance] * (STEPS - K - 1) for g in values)
    calls.remove()


@pytest.mark.parametrize("family", ["chroma", "qwen-image", "flux2-klein"])
def test_lens_of_a_step_run_without_cfg_is_its_own_x0_at_or_below_one(family):
    make, _, _, _, extra = FAMILIES[family]
    run = generate(Runner(make(), cpu_threads=1), extra, guidance_scale=1.0, keep_latents=True)
    assert torch.equal(run.lens(K, 0.5).latents, run.plan.keep.get(K))
    assert run.lens_views(K)["unconditional"] is None


def test_z_image_lens_reproduces_its_norm_cap_and_refuses_past_its_cutoff():
    """The cap (``cfg_normalization``) binds at the lens's value, so a lens without it would
    differ; steps past ``cfg_truncation`` ran the prompt alone: their lens is their own x0 at 0
    and refused above it."""
    pipe = tiny_z_image_pipeline()
    runner = Runner(pipe, cpu_threads=1)
    extra = {"cfg_normalization": True, "cfg_truncation": 0.5}
    run = generate(runner, extra, guidance_scale=4.0, keep_latents=True)
    cut = [step.cfg for step in run.steps].index(False)
    assert 0 < cut < STEPS and not any(step.cfg for step in run.steps[cut:])
    kept = run.plan.outputs.first(cut)[0]  # step 0's rows: the prompt's, then the negative's
    pos, neg = kept[:1], kept[1:]
    assert torch.linalg.vector_norm(pos + 7.0 * (pos - neg)) > torch.linalg.vector_norm(pos), "the cap binds"
    lens = run.lens(0, 7.0)
    branch = runner.branch(run, 0, guidance_schedule=[7.0] + [4.0] * (STEPS - 1), keep_latents=True)
    branch.wait()
    assert (lens.latents - branch.plan.keep.get(0)).abs().max().item() <= 1e-6
    assert torch.equal(run.lens(cut, 0.0).latents, run.plan.keep.get(cut))
    with pytest.raises(ValueError, match="unconditional half"):
        run.lens(cut, 7.0)
    assert run.guidance_effect()[cut:] == [0.0] * (STEPS - cut)


def held(runner, extra, schedule):
    """A run on its own thread held before step K (K steps run)."""
    args = {"negative_prompt": NEGATIVE, "num_inference_steps": STEPS, "seed": SEED, "height": SIZE, "width": SIZE}
    run = runner.start(PROMPT, **args, **extra, guidance_schedule=schedule, keep_latents=True, pause_at=[K])
    for _ in range(3000):
        if run.controls.paused and len(run.steps) == K:
            return run
        run.wait(0.01)
    raise AssertionError("the run never held")


def test_held_chroma_step_lens_costs_its_own_calls_once_and_next_step_applies_the_value():
    make, inner, guidance, _, extra = FAMILIES["chroma"]
    pipe = make()
    runner = Runner(pipe, cpu_threads=1)
    base = generate(runner, extra, guidance_scale=guidance, keep_latents=True)
    run = held(runner, extra, [guidance] * STEPS)
    calls = Calls(pipe.transformer, inner)
    before = run.lens(K, 9.0)
    assert (calls.calls, calls.computed) == (2, 2), "the held step's own two calls, made early"
    lenses = [run.lens(K, g) for g in (2.0, 0.5, 9.0)]
    assert (calls.calls, calls.computed) == (2, 2) and run.controls.paused and len(run.steps) == K
    assert torch.equal(lenses[-1].latents, before.latents) and not before.applied
    run.set_guidance(9.0)
    run.step_once()
    for _ in range(3000):
        if len(run.steps) > K and run.controls.paused:
            break
        run.wait(0.01)
    assert run.steps[K].guidance == 9.0 and calls.computed == 2, "step K used the peeked calls, made once"
    assert torch.equal(run.plan.keep.get(K), before.latents), "Next step applied what the lens showed"
    run.resume()
    run.wait()
    assert run.guidance == [guidance] * K + [9.0] * (STEPS - K)
    branch = runner.branch(base, K, guidance_scale=9.0, keep_latents=True)
    branch.wait()
    assert torch.equal(run.latents, branch.latents)
    assert (before.latents - branch.plan.keep.get(K)).abs().max().item() <= 1e-6
    calls.remove()


@pytest.mark.parametrize(
    ("guider", "reason"),
    [("ClassifierFreeGuidance", "mixes both below 1.0"), ("AdaptiveProjectedGuidance", "momentum buffer")],
)
def test_modular_sdxl_has_no_free_lens_and_says_why(guider, reason):
    pipe = tiny_modular_sdxl_pipeline(getattr(diffusers, guider)(guidance_scale=5.0))
    run = Runner(pipe, cpu_threads=1).generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=3, seed=SEED)
    assert run.error is None, run.traceback
    with pytest.raises(ValueError, match=f"no free guidance lens: .*{reason}"):
        run.lens(1, 2.0)
    assert run.guidance_effect() == [None] * 3 and not run.peek()
