"""Pause, resume, stop and guidance, each at a chosen step of a real (tiny) SD pipeline."""

import threading
import time

import numpy as np
import pytest
import torch
from conftest import at_step

from sdwidget import RunStatus, StatusEvent

ARGS = {"num_inference_steps": 10, "guidance_scale": 5.0, "seed": 3, "height": 32, "width": 32}


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_finished_run_records_every_step(runner):
    run = runner.generate("a red star", **ARGS)
    assert run.status is RunStatus.FINISHED, run.traceback
    assert [s.step for s in run.steps] == list(range(10))
    assert all(s.total == 10 for s in run.steps)
    assert run.guidance == [5.0] * 10
    assert all(s.cfg for s in run.steps)
    timesteps = [s.timestep for s in run.steps]
    assert timesteps == sorted(timesteps, reverse=True) and len(set(timesteps)) == 10
    elapsed = [s.elapsed for s in run.steps]
    assert elapsed == sorted(elapsed) and all(s.duration > 0 for s in run.steps)
    frame = run.steps[-1].frame.numpy()
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8 and frame.std() > 0
    assert run.image.size == (32, 32)


def test_start_returns_at_once_and_generate_matches(runner):
    started = time.perf_counter()
    run = runner.start("a red star", **{**ARGS, "num_inference_steps": 30})
    returned = time.perf_counter() - started
    assert not run.done and returned < 0.5
    run.wait()
    again = runner.generate("a red star", **{**ARGS, "num_inference_steps": 30})
    assert torch.equal(run.latents, again.latents)


def test_pause_holds_the_step_counter_then_resume_finishes(runner):
    at_step(runner, 3, lambda run: run.pause())
    statuses = []
    runner.observe(lambda e: statuses.append(e.status) if isinstance(e, StatusEvent) else None)
    run = runner.start("a red star", **ARGS)
    wait_for(lambda: run.status is RunStatus.PAUSED)
    held = len(run.steps)
    cpu_before = time.process_time()
    time.sleep(1.0)
    assert len(run.steps) == held == 4
    assert time.process_time() - cpu_before < 0.2, "a paused run must wait, not spin"
    assert run._thread.is_alive() and run.status is RunStatus.PAUSED
    runner.resume()
    assert run.wait(30)
    assert run.status is RunStatus.FINISHED and len(run.steps) == 10
    assert statuses == [RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.RUNNING, RunStatus.FINISHED]


def test_stop_keeps_partial_image_and_frames(runner, sd_pipe):
    at_step(runner, 3, lambda run: run.stop())
    run = runner.generate("a red star", **ARGS)
    assert run.status is RunStatus.STOPPED
    assert len(run.steps) == 4 and len(run.frames) == 4
    # The partial image is the VAE decode of the last x0 estimate, which is what run.latents holds.
    decoded = sd_pipe.vae.decode(run.latents / sd_pipe.vae.config.scaling_factor).sample
    expected = sd_pipe.image_processor.postprocess(decoded.detach(), output_type="np")[0]
    got = np.asarray(run.image, dtype=np.float32) / 255
    assert np.abs(got - expected).max() <= 1 / 255 + 1e-6


def test_stop_while_paused(runner):
    at_step(runner, 2, lambda run: run.pause())
    run = runner.start("a red star", **ARGS)
    wait_for(lambda: run.status is RunStatus.PAUSED)
    runner.stop()
    assert run.wait(30)
    assert run.status is RunStatus.STOPPED and len(run.steps) == 3 and run.image is not None


def test_guidance_change_applies_from_the_next_step(runner):
    at_step(runner, 4, lambda run: run.set_guidance(9.0))
    run = runner.generate("a red star", **ARGS)
    assert run.guidance == [5.0] * 5 + [9.0] * 5


def test_start_while_running_is_refused_and_loses_nothing(runner):
    at_step(runner, 1, lambda run: run.pause())
    first = runner.start("a red star", **ARGS)
    wait_for(lambda: first.status is RunStatus.PAUSED)
    with pytest.raises(RuntimeError, match="still going"):
        runner.start("a blue ring", **ARGS)
    assert runner.run is first
    runner.resume()
    first.wait()
    assert first.status is RunStatus.FINISHED and len(first.steps) == 10


def test_failure_inside_the_pipeline_is_kept_and_runner_recovers(runner, sd_pipe):
    calls = []

    def explode(module, args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom in the unet")

    handle = sd_pipe.unet.register_forward_pre_hook(explode)
    try:
        run = runner.generate("a red star", **ARGS)
    finally:
        handle.remove()
    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, RuntimeError) and "boom in the unet" in run.traceback
    assert len(run.steps) == 2
    assert "step" not in vars(sd_pipe.scheduler), "the scheduler must be unwrapped after a failure"
    again = runner.generate("a red star", **ARGS)
    assert again.status is RunStatus.FINISHED


def test_fifty_runs_back_to_back_leave_no_threads(runner):
    before = threading.active_count()
    for i in range(50):
        run = runner.generate("a red star", num_inference_steps=2, seed=i, height=32, width=32)
        assert run.status is RunStatus.FINISHED
    assert threading.active_count() == before


def test_observer_errors_do_not_kill_the_run(runner):
    def broken(event):
        raise ValueError("observer bug")

    runner.observe(broken)
    run = runner.generate("a red star", **ARGS)
    assert run.status is RunStatus.FINISHED and len(run.steps) == 10
    assert "observer bug" in runner.observer_error
