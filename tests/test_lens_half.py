"""A guidance lens at a step that ran with CFG off (one half computed): with ``paid=True`` its other
half is made with one model call (the step's call again, as a step under CFG makes it), counted
here, then every value at that step is free. It equals the x0 of a reference loop that runs that
step with CFG at that value and every other step with CFG off, written here from diffusers alone:
SD's loop spelled out (its UNet, scheduler, ``encode_prompt``, ``prepare_latents``), and
FluxPipeline's own ``__call__`` with true CFG whose negative call's output a forward hook makes the
conditional one's at every step but K (``neg + g × (cond − neg)`` is then ``cond``, bit for bit).
SDXL and SD3 are checked against the branch applying the value at that step."""

import pytest
import torch
from diffusers import EulerDiscreteScheduler

from sdwidget import Runner
from sdwidget.core.paid_lens import PaidOffer
from sdwidget.testing import tiny_flux_pipeline, tiny_sd3_pipeline, tiny_sd_pipeline, tiny_sdxl_pipeline

STEPS, K, SEED = 6, 3, 3
PROMPT, NEGATIVE = "a red star", "blurry"

pytestmark = pytest.mark.usefixtures("one_thread")


class Computed:
    """Denoiser computations: a pre-hook on its first layer, which every call runs once (the lens
    calls ``forward`` itself, which a hook on the denoiser would miss)."""

    def __init__(self, layer):
        self.count = 0
        self.handle = layer.register_forward_pre_hook(lambda *_: self._add())

    def _add(self):
        self.count += 1


@torch.no_grad()
def sd_reference(pipe, g, size):
    """Step K's x0 from SD's loop spelled out: CFG off (the conditional pass alone) at every step but
    K, which runs CFG at ``g`` as the pipeline does (one call on ``[uncond, cond]`` rows)."""
    cond, uncond = pipe.encode_prompt(PROMPT, "cpu", 1, True, negative_prompt=NEGATIVE)
    pipe.scheduler.set_timesteps(STEPS)
    generator = torch.Generator("cpu").manual_seed(SEED)
    latents = pipe.prepare_latents(1, pipe.unet.config.in_channels, size, size, cond.dtype, "cpu", generator)
    for i, t in enumerate(pipe.scheduler.timesteps):
        cfg = i == K
        sample = pipe.scheduler.scale_model_input(torch.cat([latents] * 2) if cfg else latents, t)
        embeds = torch.cat([uncond, cond]) if cfg else cond
        out = pipe.unet(sample, t, encoder_hidden_states=embeds, return_dict=False)[0]
        if cfg:
            out_uncond, out_cond = out.chunk(2)
            out = out_uncond + g * (out_cond - out_uncond)
        stepped = pipe.scheduler.step(out, t, latents, return_dict=True)
        if cfg:
            return stepped.pred_original_sample
        latents = stepped.prev_sample


@torch.no_grad()
def flux_reference(pipe, g, size, tokens):
    """Step K's x0 from FluxPipeline's own loop with true CFG at ``g``, every step but K made
    CFG-off: the negative call's output replaced by the conditional call's."""
    seen, outputs = {}, []

    def keep(module, args, kwargs):
        if len(outputs) == 2 * K:
            seen["sample"] = kwargs["hidden_states"]

    def off(module, args, out):
        outputs.append(out[0])
        call = len(outputs) - 1
        return (outputs[call - 1],) if call % 2 == 1 and call // 2 != K else None

    handles = [pipe.transformer.register_forward_pre_hook(keep, with_kwargs=True),
               pipe.transformer.register_forward_hook(off)]  # fmt: skip
    pipe(prompt=PROMPT, negative_prompt=NEGATIVE, true_cfg_scale=g, num_inference_steps=STEPS, height=size,
         width=size, max_sequence_length=tokens, generator=torch.Generator("cpu").manual_seed(SEED),
         output_type="latent")  # fmt: skip
    for handle in handles:
        handle.remove()
    cond, neg = outputs[2 * K], outputs[2 * K + 1]
    x0 = seen["sample"] - pipe.scheduler.sigmas[K] * (neg + g * (cond - neg))
    return pipe._unpack_latents(x0, size, size, pipe.vae_scale_factor)


def cfg_off_run(pipe, **kwargs):
    run = Runner(pipe).generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=1.0,
                                seed=SEED, keep_latents=True, **kwargs)  # fmt: skip
    assert run.error is None, run.traceback
    assert not any(step.cfg for step in run.steps)
    return run


def paid_lenses(run, computed):
    """The lens at step K for 7.0 (refused, then paid), 2.5 (free after), and at step 1: the counts."""
    with pytest.raises(PaidOffer, match=r"ran with CFG off .*\(1 call, then every value there is free\)") as offer:
        run.lens(K, 7.0)
    assert offer.value.calls == 1 and offer.value.per == "step" and computed.count == 0, "no call without paid"
    seven = run.lens(K, 7.0, paid=True)
    assert computed.count == 1 and not seven.applied, "one call for the step's other half"
    again = [run.lens(K, 7.0), run.lens(K, 2.5), run.lens(K, 2.5, paid=True), run.lens(K, 0.5)]
    assert computed.count == 1, "every value at that step is then free"
    assert torch.equal(again[0].latents, seven.latents) and again[3].applied
    assert torch.equal(again[3].latents, run.plan.keep.get(K)), "at or below 1: the step as it ran"
    run.lens(1, 4.0, paid=True)
    assert computed.count == 2, "another step: its own call"
    return {7.0: seven.latents, 2.5: again[1].latents}


def test_sd_step_run_without_cfg_pays_one_call_and_equals_the_loop_running_it_with_cfg():
    pipe = tiny_sd_pipeline()
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    run = cfg_off_run(pipe)
    computed = Computed(pipe.unet.conv_in)
    lenses = paid_lenses(run, computed)
    views = run.lens_views(K)
    assert views["unconditional"] is not None, "the half paid for shows in the three views"
    computed.handle.remove()
    for g, latents in lenses.items():
        reference = sd_reference(pipe, g, run.params["height"])
        assert (latents - reference).abs().max().item() <= 1e-6


def test_flux_true_cfg_step_run_off_pays_its_negative_call_and_equals_the_pipelines_loop():
    pipe = tiny_flux_pipeline(guidance_embeds=False)
    run = cfg_off_run(pipe, height=32, width=32, max_sequence_length=16)
    computed = Computed(pipe.transformer.x_embedder)
    lenses = paid_lenses(run, computed)
    computed.handle.remove()
    for g, latents in lenses.items():
        assert (latents - flux_reference(pipe, g, 32, 16)).abs().max().item() <= 1e-6


@pytest.mark.parametrize("family", ["sdxl", "sd3"])
def test_step_run_without_cfg_equals_a_branch_running_it_with_cfg(family):
    runner = Runner(tiny_sdxl_pipeline() if family == "sdxl" else tiny_sd3_pipeline())
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=1.0,
                          seed=SEED, keep_latents=True)  # fmt: skip
    lens = run.lens(K, 6.0, paid=True)
    branch = runner.branch(run, K, guidance_schedule=[6.0] + [1.0] * (STEPS - K - 1), keep_latents=True)
    branch.wait()
    assert (lens.latents - branch.plan.keep.get(K)).abs().max().item() <= 1e-6


def test_a_held_step_run_without_cfg_is_still_refused_with_the_reason():
    runner = Runner(tiny_sd_pipeline())
    run = runner.start(PROMPT, num_inference_steps=STEPS, guidance_scale=1.0, seed=SEED, pause_at=[K])
    for _ in range(600):
        if run.controls.paused and len(run.steps) == K:
            break
        run.wait(0.01)
    with pytest.raises(ValueError, match="unconditional half it did not compute"):
        run.lens(K, 6.0, paid=True)
    run.resume()
    run.wait()


def test_a_step_before_a_prompt_edit_takes_the_negative_of_its_time():
    runner = Runner(tiny_sd_pipeline())
    edit = {"step": K + 1, "prompt": "a blue ring", "negative_prompt": "sharp"}
    run = runner.generate(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=1.0,
                          seed=SEED, keep_latents=True, prompt_schedule=[edit])  # fmt: skip
    lens = run.lens(K, 6.0, paid=True)
    branch = runner.branch(run, K, guidance_schedule=[6.0] + [1.0] * (STEPS - K - 1), keep_latents=True)
    branch.wait()
    assert (lens.latents - branch.plan.keep.get(K)).abs().max().item() <= 1e-6
