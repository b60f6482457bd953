"""The finiteness check's sum on the CPU, on each of its paths (torch below its grain, numpy
above it, float16 accumulated in float32), against ``torch.isfinite``."""

import pytest
import torch

from sdwidget.core.finite import GRAIN, FiniteCheck, NonFiniteLatents

SHAPES = [(1, 4, 32, 32), (1, 4, 128, 128)]  # below torch's grain, above it


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_one_non_finite_element_fails_the_step_it_appeared_in(shape, dtype, bad):
    latents = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype)
    check = FiniteCheck()
    check.check(0, 10, latents)  # finite: passes
    latents.view(-1)[latents.numel() // 3] = bad
    with pytest.raises(NonFiniteLatents, match="step 2 of 10"):
        check.check(1, 10, latents)


@pytest.mark.parametrize("shape", SHAPES)
def test_float16_latents_whose_float16_sum_would_overflow_are_finite(shape):
    latents = torch.full(shape, 60000.0, dtype=torch.float16)  # sums past float16's 65504
    assert not torch.isfinite(latents.sum()), "the float16 sum overflows: the check must not use it"
    FiniteCheck().check(0, 1, latents)


def test_the_two_shapes_take_the_two_paths():
    assert SHAPES[0][1] * SHAPES[0][2] * SHAPES[0][3] < GRAIN <= SHAPES[1][1] * SHAPES[1][2] * SHAPES[1][3]
