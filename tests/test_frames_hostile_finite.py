"""The step callback's other changes of b5dfb05, tried as a user would: the finite check's sum
(torch's below its grain, numpy's above) on latents laid out oddly and through half-precision runs
of both sizes; the timestep a step records (the tap's host number first) against the one the
pipeline hands its own callbacks."""

import pytest
import torch
from diffusers.callbacks import PipelineCallback
from test_reliability import unet_from_call

from sdwidget import Runner, RunStatus
from sdwidget.core.finite import GRAIN, FiniteCheck, NonFiniteLatents

NAN = float("nan")


def laid_out(kind: str, numel_side: int, dtype: torch.dtype) -> torch.Tensor:
    """``(1, 4, side, side)`` latents as a loop might hand them: contiguous, channels-last, a
    transposed view, a slice of a wider tensor, a broadcast (stride 0)."""
    g = torch.Generator().manual_seed(0)
    side = numel_side
    if kind == "contiguous":
        return torch.randn(1, 4, side, side, generator=g).to(dtype)
    if kind == "channels_last":
        return torch.randn(1, 4, side, side, generator=g).to(dtype).to(memory_format=torch.channels_last)
    if kind == "transposed":
        return torch.randn(1, 4, side, side, generator=g).to(dtype).transpose(2, 3)
    if kind == "slice":
        return torch.randn(1, 4, side, side + 7, generator=g).to(dtype)[..., 3 : 3 + side]
    return torch.randn(1, 4, 1, side, generator=g).to(dtype).expand(1, 4, side, side)


KINDS = ["contiguous", "channels_last", "transposed", "slice", "broadcast"]
SIDES = [32, 128]  # 4096 elements (torch's sum), 65536 (numpy's over the flat array)
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", KINDS)
def test_nan_is_caught_whatever_the_layout_and_a_nan_outside_the_view_is_not(kind, side, dtype):
    latents = laid_out(kind, side, dtype)
    FiniteCheck().check(0, 4, latents)  # finite
    if kind == "slice":  # a NaN in the wider tensor, outside the latents: not theirs
        latents._base[..., 0] = NAN
        FiniteCheck().check(0, 4, latents)
    if kind == "broadcast":  # one row, seen at every row
        latents._base[0, 1, 0, side // 3] = NAN
    else:
        latents[0, 1, side // 2, side // 3] = NAN
    assert not torch.isfinite(latents).all()
    with pytest.raises(NonFiniteLatents, match="step 3 of 4"):
        FiniteCheck().check(2, 4, latents)


@pytest.mark.parametrize("numel", [GRAIN - 1, GRAIN, GRAIN + 1])
def test_the_grain_boundary_either_side_finds_the_last_element(numel):
    for dtype in DTYPES:
        latents = torch.zeros(numel, dtype=dtype)
        FiniteCheck().check(0, 1, latents)
        latents[-1] = float("inf")
        with pytest.raises(NonFiniteLatents):
            FiniteCheck().check(0, 1, latents)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("size", [32, 184])  # latents of 4·16² (below the grain) and 4·92² (above)
def test_a_half_precision_run_whose_unet_turns_nan_fails_at_that_step(dtype, size):
    from sdwidget.testing import tiny_sd_pipeline

    pipe = tiny_sd_pipeline().to(dtype)
    with unet_from_call(pipe, 1, lambda out: (out[0].fill_(NAN), out)[1]):
        run = Runner(pipe).generate("a", num_inference_steps=2, guidance_scale=1.0, seed=0, height=size, width=size)
    assert run.status is RunStatus.FAILED and isinstance(run.error, NonFiniteLatents), run.error
    assert "step 2 of 2" in str(run.error) and len(run.steps) == 2, "the NaN step's frame is recorded"
    assert (run.steps[1].frame.numpy().size > 0) and (4 * (size // 2) ** 2 < GRAIN) == (size == 32)


class Timesteps(PipelineCallback):
    """Chained after the runner's hook: the timestep the pipeline gives its callbacks."""

    tensor_inputs: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[float] = []

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        self.seen.append(float(timestep))
        return callback_kwargs


@pytest.mark.parametrize("scheduler", ["euler", "euler-a", "ddim", "dpm-karras", "heun", "sd3", "flux"])
def test_each_step_records_the_timestep_the_pipeline_gives_its_callbacks(scheduler):
    from sdwidget.testing import make_scheduler, tiny_flux_pipeline, tiny_sd3_pipeline, tiny_sd_pipeline

    if scheduler in ("sd3", "flux"):
        pipe = tiny_sd3_pipeline() if scheduler == "sd3" else tiny_flux_pipeline()
    else:
        pipe = tiny_sd_pipeline()
        if scheduler == "heun":  # second order: two loop iterations, two callbacks, per timestep
            from diffusers import HeunDiscreteScheduler

            pipe.scheduler = HeunDiscreteScheduler.from_config(pipe.scheduler.config)
        else:
            pipe.scheduler = make_scheduler(scheduler)
    timesteps = Timesteps()
    run = Runner(pipe).generate("a red star", num_inference_steps=4, seed=0, height=64, width=64, callbacks=[timesteps])
    assert run.status is RunStatus.FINISHED, run.error
    assert [step.timestep for step in run.steps] == timesteps.seen and len(timesteps.seen) >= 4
