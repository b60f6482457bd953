"""CPU threads in a run's thread: one for small models, chosen per thread, the caller's untouched."""

import pytest
import torch

from sdwidget import Runner, RunStatus
from sdwidget.core.threads import run_threads

ARGS = {"num_inference_steps": 3, "guidance_scale": 5.0, "seed": 1, "height": 32, "width": 32}


def threads_seen(runner, **args):
    seen = []
    runner.observe(lambda event: seen.append(torch.get_num_threads()))
    run = runner.generate("a red star", **{**ARGS, **args})
    assert run.status is RunStatus.FINISHED, run.traceback
    return set(seen)


def test_small_cpu_model_runs_on_one_thread_and_the_caller_keeps_its_own(sd_pipe):
    torch.set_num_threads(2)
    assert threads_seen(Runner(sd_pipe)) == {1}
    assert torch.get_num_threads() == 2
    # One step: two OpenMP threads beside a busy core cost 5-15x a step on one (a barrier per op).
    assert threads_seen(Runner(sd_pipe, cpu_threads=2), num_inference_steps=1) == {2}


def test_thread_count_is_validated(sd_pipe):
    with pytest.raises(ValueError, match="cpu_threads"):
        Runner(sd_pipe, cpu_threads=0)
    with pytest.raises(TypeError, match="cpu_threads"):
        Runner(sd_pipe, cpu_threads="2")


def test_a_small_model_making_large_latents_keeps_every_core(sd_pipe):
    """``benchmarks/threads.py``: the SD layout at 256² (32² latents) ran 1.5× slower on one thread.
    The run here is the smallest past the rule's bound (20² latents), which is what the rule reads."""
    torch.set_num_threads(2)
    side = 16 * sd_pipe.vae_scale_factor  # 16² latents: the largest kept on one thread
    runner, seen = Runner(sd_pipe), []
    runner.observe(lambda event: seen.append(torch.get_num_threads()))
    run = runner.generate("a red star", **{**ARGS, "height": side + 8, "width": side + 8, "num_inference_steps": 1})
    assert run.status is RunStatus.FINISHED, run.traceback
    assert set(seen) == {2}, "torch's setting, not one thread"
    assert run_threads(sd_pipe, None, side, side) == 1 and run_threads(sd_pipe, None, side + 8, side) is None
    assert run_threads(sd_pipe, None) == 1, "no size known: taken as small"
    assert run_threads(sd_pipe, 3, 256, 256) == 3, "the runner's cpu_threads wins"
