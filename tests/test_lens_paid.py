"""The paid guidance lens on distilled guidance (FLUX.1-dev, FLUX.2 [dev]): a step seen at another
value costs that step's model calls once per value (counted here), then comes from the cache; it
equals, bit for bit, the x0 of a reference loop that is the pipeline's own ``__call__`` with the
guidance input of step K set to that value (a forward pre-hook on its transformer: no sdwidget
code), the x0 read as its FlowMatch scheduler defines it, ``sample − sigma × output``, and unpacked
with the pipeline's own ``_unpack_latents``; and the x0 a branch applying the value at K previews."""

import pytest
import torch

from sdwidget import Runner
from sdwidget.core.paid_lens import PaidOffer
from sdwidget.testing import tiny_flux_pipeline
from sdwidget.testing.flux2_dev import tiny_flux2_dev_pipeline

STEPS, K, SEED, SIZE, RAN = 4, 2, 7, 32, 3.5
PROMPT, NEGATIVE = "a red star on a blue background", "blurry"
FAMILIES = {"flux-dev": (tiny_flux_pipeline, 16), "flux2-dev": (tiny_flux2_dev_pipeline, 96)}

pytestmark = pytest.mark.usefixtures("one_thread")


class Computed:
    """Transformer computations: a pre-hook on a module every one runs once (a paid lens calls the
    transformer's ``forward`` under the run's wrappers, which a hook on the transformer itself would miss)."""

    def __init__(self, pipe):
        self.count = 0
        self.handle = pipe.transformer.x_embedder.register_forward_pre_hook(lambda *_: self._add())

    def _add(self):
        self.count += 1


@torch.no_grad()
def reference(pipe, tokens, g, negative=None, true_cfg=1.0):
    """Step K's x0 from the pipeline's own loop, its guidance input set to ``g`` at step K only."""
    calls_per_step = 2 if negative is not None and true_cfg > 1 else 1
    seen, count = {}, [0]

    def swap(module, args, kwargs):
        step, count[0] = count[0] // calls_per_step, count[0] + 1
        if step != K:
            return None
        seen["sample"], seen["ids"] = kwargs["hidden_states"], kwargs["img_ids"]
        return args, {**kwargs, "guidance": torch.full_like(kwargs["guidance"], g)}

    outputs = []
    handles = [
        pipe.transformer.register_forward_pre_hook(swap, with_kwargs=True),
        pipe.transformer.register_forward_hook(lambda m, a, out: outputs.append(out[0])),
    ]
    extra = {} if negative is None else {"negative_prompt": negative, "true_cfg_scale": true_cfg}
    pipe(prompt=PROMPT, num_inference_steps=STEPS, guidance_scale=RAN, height=SIZE, width=SIZE,
         max_sequence_length=tokens, generator=torch.Generator("cpu").manual_seed(SEED), output_type="latent",
         **extra)  # fmt: skip
    for handle in handles:
        handle.remove()
    step_outputs = outputs[K * calls_per_step : (K + 1) * calls_per_step]
    out = step_outputs[0] if calls_per_step == 1 else step_outputs[1] + true_cfg * (step_outputs[0] - step_outputs[1])
    x0 = seen["sample"] - pipe.scheduler.sigmas[K] * out
    if hasattr(pipe, "_unpack_latents_with_ids"):  # FLUX.2: as its decode unpacks the latents
        grid = pipe._unpack_latents_with_ids(x0, seen["ids"])
        bn, eps = pipe.vae.bn, pipe.vae.config.batch_norm_eps
        grid = grid * torch.sqrt(bn.running_var.view(1, -1, 1, 1) + eps) + bn.running_mean.view(1, -1, 1, 1)
        return pipe._unpatchify_latents(grid)
    return pipe._unpack_latents(x0, SIZE, SIZE, pipe.vae_scale_factor)


def generate(runner, tokens, **kwargs):
    run = runner.generate(PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE, guidance_scale=RAN,
                          max_sequence_length=tokens, keep_latents=True, **kwargs)  # fmt: skip
    assert run.error is None, run.traceback
    return run


@pytest.mark.parametrize("family", list(FAMILIES))
def test_paid_lens_costs_one_call_per_value_and_equals_the_loop_applying_it(family):
    make, tokens = FAMILIES[family]
    pipe = make()
    runner = Runner(pipe, cpu_threads=1)
    run = generate(runner, tokens)
    computed = Computed(pipe)
    with pytest.raises(PaidOffer, match="paid=True") as offer:
        run.lens(K, 7.0)
    assert offer.value.calls == 1 and computed.count == 0, "no call without paid=True"
    with pytest.raises(ValueError, match="no free guidance lens"):
        run.lens_views(K)
    counts = []
    lenses = {}
    for g in (7.0, 1.5, 7.0, RAN):
        before = computed.count
        lenses[g] = run.lens(K, g, paid=True)
        counts.append(computed.count - before)
    assert counts == [1, 1, 0, 1], "one call per new value, none for a value seen before"
    assert torch.equal(run.lens(K, 1.5).latents, lenses[1.5].latents) and computed.count == 3, "cached, free"
    assert lenses[RAN].applied and not lenses[7.0].applied
    assert torch.equal(lenses[RAN].latents, run.plan.keep.get(K)), "at the value run: the step's own x0"
    for g in (7.0, 1.5):
        expected = reference(pipe, tokens, g)
        difference = (lenses[g].latents - expected).abs().max().item()
        print(f"{family} paid lens at {g} vs the pipeline's loop: max |diff| {difference:.3g}")
        assert difference <= 1e-6 and not torch.allclose(expected, run.plan.keep.get(K))
        branch = runner.branch(run, K, guidance_schedule=[g] + [RAN] * (STEPS - K - 1), keep_latents=True)
        branch.wait()
        assert branch.error is None, branch.traceback
        assert torch.equal(lenses[g].latents, branch.plan.keep.get(K))
        shared = branch.lens(K - 1, 9.0, paid=True).latents  # a branch keeps its shared steps' inputs too
        assert torch.equal(shared, run.lens(K - 1, 9.0, paid=True).latents)
    computed.handle.remove()


def test_flux_dev_with_true_cfg_pays_both_calls_of_the_step():
    pipe = tiny_flux_pipeline()
    runner = Runner(pipe, cpu_threads=1)
    run = generate(runner, 16, negative_prompt=NEGATIVE, true_cfg_scale=3.0)
    computed = Computed(pipe)
    with pytest.raises(PaidOffer, match=r"\(2 calls, then cached\)"):
        run.lens(K, 7.0)
    lens = run.lens(K, 7.0, paid=True)
    assert computed.count == 2 and torch.equal(run.lens(K, 7.0).latents, lens.latents) and computed.count == 2
    difference = (lens.latents - reference(pipe, 16, 7.0, NEGATIVE, 3.0)).abs().max().item()
    print(f"flux-dev true CFG 3 paid lens at 7 vs the pipeline's loop: max |diff| {difference:.3g}")
    assert difference <= 1e-6
    computed.handle.remove()


def test_held_run_pays_for_an_earlier_step_without_going_into_the_next():
    """The step to come has a paid lens too (``test_lens_paid_held.py``); an earlier one's needs no peek."""
    pipe = tiny_flux2_dev_pipeline()
    runner = Runner(pipe, cpu_threads=1)
    run = runner.start(PROMPT, num_inference_steps=STEPS, seed=SEED, height=SIZE, width=SIZE, guidance_scale=RAN,
                       max_sequence_length=96, keep_latents=True, pause_at=[K])  # fmt: skip
    for _ in range(3000):
        if run.controls.paused and len(run.steps) == K:
            break
        run.wait(0.01)
    computed = Computed(pipe)
    with pytest.raises(PaidOffer, match=f"step {K}'s model call again at 7"):
        run.lens(K, 7.0)
    earlier = run.lens(K - 1, 7.0, paid=True)
    assert computed.count == 1 and run.controls.paused and len(run.steps) == K
    run.resume()
    run.wait()
    assert run.error is None and len(run.steps) == STEPS
    assert torch.equal(run.lens(K - 1, 7.0).latents, earlier.latents) and computed.count == STEPS - K + 1
    computed.handle.remove()
