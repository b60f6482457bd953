"""CPU threads in a run's thread: one for small models, chosen per thread, the caller's untouched."""

import pytest
import torch

from sdwidget import Runner, RunStatus

ARGS = {"num_inference_steps": 3, "guidance_scale": 5.0, "seed": 1, "height": 32, "width": 32}


def threads_seen(runner):
    seen = []
    runner.observe(lambda event: seen.append(torch.get_num_threads()))
    run = runner.generate("a red star", **ARGS)
    assert run.status is RunStatus.FINISHED, run.traceback
    return set(seen)


def test_small_cpu_model_runs_on_one_thread_and_the_caller_keeps_its_own(sd_pipe):
    torch.set_num_threads(2)
    assert threads_seen(Runner(sd_pipe)) == {1}
    assert torch.get_num_threads() == 2
    assert threads_seen(Runner(sd_pipe, cpu_threads=2)) == {2}


def test_thread_count_is_validated(sd_pipe):
    with pytest.raises(ValueError, match="cpu_threads"):
        Runner(sd_pipe, cpu_threads=0)
    with pytest.raises(TypeError, match="cpu_threads"):
        Runner(sd_pipe, cpu_threads="2")
