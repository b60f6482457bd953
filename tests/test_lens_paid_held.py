"""The paid guidance lens on a held run's next step (FLUX.1-dev, FLUX.2 [dev]): paying for a value
there makes the step's own call at the value in force (a peek, the call Next step needs anyway),
then one call at the value asked; its x0 equals, bit for bit, the pipeline's own ``__call__`` with
that step's guidance input set to the value (``test_lens_paid.reference``: a forward pre-hook, no
sdwidget code). Set to that value, Next step steps with the outputs paid for (no call); set to
another, it makes that value's call then (one). Either way the finished run, a branch of it from a
later step and its replay equal the pipeline's own run with the value from the held step on."""

import pytest
import torch
from test_lens_paid import FAMILIES, NEGATIVE, PROMPT, RAN, SEED, SIZE, STEPS, Computed, reference

from sdwidget import Runner
from sdwidget.core.paid_lens import PaidOffer
from sdwidget.testing import tiny_flux_pipeline
from sdwidget.testing.modular import tiny_modular_flux_pipeline

K = 2
pytestmark = pytest.mark.usefixtures("one_thread")


def as_run_shows(pipe, latents, ids):
    """Packed latents as the run's ``latents`` hold them (its family's ``image_view``), by the pipeline's own code."""
    if hasattr(pipe, "_unpack_latents_with_ids"):  # FLUX.2: as its decode unpacks them
        grid = pipe._unpack_latents_with_ids(latents, ids)
        bn, eps = pipe.vae.bn, pipe.vae.config.batch_norm_eps
        grid = grid * torch.sqrt(bn.running_var.view(1, -1, 1, 1) + eps) + bn.running_mean.view(1, -1, 1, 1)
        return pipe._unpatchify_latents(grid)
    return pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)


@torch.no_grad()
def finished(pipe, tokens, g, calls=1, **extra):
    """The pipeline's own run, its guidance input set to ``g`` from step K on (``calls`` a step)."""
    count, ids = [0], {}

    def swap(module, args, kwargs):
        step, count[0] = count[0] // calls, count[0] + 1
        ids["img"] = kwargs["img_ids"]
        if step < K:
            return None
        return args, {**kwargs, "guidance": torch.full_like(kwargs["guidance"], g)}

    handle = pipe.transformer.register_forward_pre_hook(swap, with_kwargs=True)
    latents = pipe(prompt=PROMPT, num_inference_steps=STEPS, guidance_scale=RAN, height=SIZE, width=SIZE,
                   max_sequence_length=tokens, generator=torch.Generator("cpu").manual_seed(SEED),
                   output_type="latent", **extra).images  # fmt: skip
    handle.remove()
    assert count[0] == STEPS * calls
    return as_run_shows(pipe, latents, ids["img"])


def held(runner, tokens, **extra):
    run = runner.start(PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE, guidance_scale=RAN,
                       max_sequence_length=tokens, keep_latents=True, pause_at=[K], **extra)  # fmt: skip
    for _ in range(3000):
        if run.controls.paused and len(run.steps) == K:
            return run
        run.wait(0.01)
    raise AssertionError("the run never held")


def next_step(run):
    run.step_once()
    for _ in range(3000):
        if len(run.steps) > K and run.controls.paused:
            return
        run.wait(0.01)
    raise AssertionError("Next step never held again")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_held_step_paid_lens_equals_the_loop_and_next_step_applies_the_value_paid_for(family):
    make, tokens = FAMILIES[family]
    pipe = make()
    # The references first: the pipeline is the held run's until it ends.
    step_k, expected, unsteered = reference(pipe, tokens, 7.0), finished(pipe, tokens, 7.0), finished(pipe, tokens, RAN)
    own = reference(pipe, tokens, RAN)
    runner = Runner(pipe, cpu_threads=1)
    run = held(runner, tokens)
    computed = Computed(pipe)
    with pytest.raises(PaidOffer, match=r"\(1 call, then cached\)") as offer:
        run.lens(K, 7.0)
    assert offer.value.calls == 1 and computed.count == 0, "refused: no call, no peek"
    lens = run.lens(K, 7.0, paid=True)
    assert computed.count == 2, "the step's own call at 3.5 (made early, Next step needs it) and one at 7.0"
    assert torch.equal(run.lens(K, 7.0).latents, lens.latents) and computed.count == 2, "cached, free"
    assert not lens.applied and run.controls.paused and len(run.steps) == K
    at_own = run.lens(K, RAN)
    assert at_own.applied and torch.equal(at_own.latents, own) and computed.count == 2, "the peek's output: free"
    difference = (lens.latents - step_k).abs().max().item()
    print(f"{family} held-step paid lens at 7 vs the pipeline's loop: max |diff| {difference:.3g}")
    assert difference == 0.0
    run.set_guidance(7.0)
    next_step(run)
    assert run.steps[K].guidance == 7.0 and computed.count == 2, "step K stepped with the outputs paid for"
    assert torch.equal(run.plan.keep.get(K), lens.latents), "Next step applied what the lens showed"
    run.resume()
    run.wait()
    assert run.error is None and computed.count == 2 + STEPS - K - 1
    assert run.guidance == [RAN] * K + [7.0] * (STEPS - K)
    difference = (run.latents - expected).abs().max().item()
    print(f"{family} held at {K}, 7 paid and applied, finished vs the pipeline's run: max |diff| {difference:.3g}")
    assert difference == 0.0 and not torch.equal(expected, unsteered)
    for shared in (K + 1, K + 2):  # 1-based: the first shares the step applied, replayed from the branch store
        branch = runner.branch(run, shared, keep_latents=True)
        branch.wait()
        assert branch.error is None, branch.traceback
        assert torch.equal(branch.latents, expected), f"a branch sharing {shared} steps"
    replay = runner.replay(run)
    replay.wait()
    assert replay.error is None and torch.equal(replay.latents, expected)
    computed.handle.remove()


def test_a_value_not_paid_for_is_made_once_on_next_step():
    make, tokens = FAMILIES["flux2-dev"]
    pipe = make()
    expected = finished(pipe, tokens, 1.5)
    runner = Runner(pipe, cpu_threads=1)
    run = held(runner, tokens)
    computed = Computed(pipe)
    run.lens(K, 7.0, paid=True)
    run.set_guidance(1.5)
    next_step(run)
    assert run.steps[K].guidance == 1.5 and computed.count == 3, "the peek, 7.0, then 1.5 made on Next step"
    assert torch.equal(run.lens(K, 7.0).latents, run.lens(K, 7.0, paid=True).latents) and computed.count == 3
    run.resume()
    run.wait()
    assert run.error is None and computed.count == 3 + STEPS - K - 1
    assert torch.equal(run.latents, expected)
    branch = runner.branch(run, K + 1, keep_latents=True)
    branch.wait()
    assert torch.equal(branch.latents, run.latents)
    computed.handle.remove()


def test_a_value_set_before_the_peek_is_the_one_the_step_is_made_at_for_one_call():
    make, tokens = FAMILIES["flux-dev"]
    pipe = make()
    expected = finished(pipe, tokens, 7.0)
    runner = Runner(pipe, cpu_threads=1)
    run = held(runner, tokens)
    computed = Computed(pipe)
    run.set_guidance(7.0)  # the widget's slider asks before Preview is pressed
    lens = run.lens(K, 7.0, paid=True)
    assert computed.count == 1 and lens.applied, "the peek makes the step at 7.0: its own output is the lens"
    assert torch.equal(run.lens(K, RAN, paid=True).latents, run.lens(K, RAN).latents) and computed.count == 2
    run.resume()
    run.wait()
    assert run.error is None and computed.count == 2 + STEPS - K - 1 and torch.equal(run.latents, expected)
    assert torch.equal(run.plan.keep.get(K), lens.latents)
    computed.handle.remove()


def test_flux_dev_with_true_cfg_pays_and_applies_both_calls_of_the_held_step():
    pipe = tiny_flux_pipeline()
    true_cfg = {"negative_prompt": NEGATIVE, "true_cfg_scale": 3.0}
    step_k, expected = reference(pipe, 16, 7.0, NEGATIVE, 3.0), finished(pipe, 16, 7.0, 2, **true_cfg)
    runner = Runner(pipe, cpu_threads=1)
    run = held(runner, 16, **true_cfg)
    computed = Computed(pipe)
    with pytest.raises(PaidOffer, match=r"\(2 calls, then cached\)"):
        run.lens(K, 7.0)
    lens = run.lens(K, 7.0, paid=True)
    assert computed.count == 4 and (lens.latents - step_k).abs().max().item() == 0.0
    run.set_guidance(7.0)
    run.resume()
    run.wait()
    assert run.error is None and computed.count == 4 + 2 * (STEPS - K - 1)
    difference = (run.latents - expected).abs().max().item()
    print(f"flux-dev true CFG 3, held at {K}, 7 paid and applied vs the pipeline's run: max |diff| {difference:.3g}")
    assert difference == 0.0
    branch = runner.branch(run, K + 1, keep_latents=True)
    branch.wait()
    assert branch.error is None and torch.equal(branch.latents, expected)
    computed.handle.remove()


def test_modular_flux_applies_the_held_step_at_the_value_paid_for():
    """Modular Flux (its guidance in the block state; the tap keeps a step's calls once its scheduler has stepped)."""
    import modular_refs
    from test_modular_flux import SetAt

    pipe = tiny_modular_flux_pipeline()
    steps = 6
    expected = modular_refs.reference(
        pipe, SetAt({K: {"guidance": 7.0}}), guidance_scale=RAN, num_inference_steps=steps
    )
    runner = Runner(pipe, cpu_threads=1)
    run = runner.start(modular_refs.PROMPT, num_inference_steps=steps, seed=modular_refs.SEED,
                       height=modular_refs.SIZE, width=modular_refs.SIZE, guidance_scale=RAN, keep_latents=True,
                       pause_at=[K])  # fmt: skip
    for _ in range(3000):
        if run.controls.paused and len(run.steps) == K:
            break
        run.wait(0.01)
    computed = Computed(pipe)
    lens = run.lens(K, 7.0, paid=True)
    assert computed.count == 2 and not lens.applied
    run.set_guidance(7.0)
    next_step(run)
    assert computed.count == 2 and torch.equal(run.plan.keep.get(K), lens.latents)
    run.resume()
    run.wait()
    assert run.error is None and run.guidance == [RAN] * K + [7.0] * (steps - K)
    difference = (run.latents - expected).abs().max().item()
    print(f"modular flux held at {K}, 7 paid and applied, finished vs the pipeline's run: max |diff| {difference:.3g}")
    assert difference == 0.0
    branch = runner.branch(run, K + 1, keep_latents=True)
    branch.wait()
    assert branch.error is None and torch.equal(branch.latents, expected)
    computed.handle.remove()
