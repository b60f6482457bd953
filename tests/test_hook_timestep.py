"""The step's timestep is read without a host sync on a device: from the schedule, copied once."""

from types import SimpleNamespace

import torch
from PIL import Image

from sdwidget import Runner
from sdwidget.core.hook import StepHook
from sdwidget.core.x0 import X0Tap
from sdwidget.testing import tiny_sd_pipeline


def test_a_device_timestep_is_read_from_the_schedule_copied_once():
    schedule = torch.tensor([999.0, 749.0, 499.0, 249.0])
    scheduler = SimpleNamespace(timesteps=schedule)
    pipe = SimpleNamespace(scheduler=scheduler, num_timesteps=3)  # an img2img tail
    hook = SimpleNamespace(tap=X0Tap(scheduler))
    on_device = torch.empty((), device="meta")  # float() of it would fail: the schedule must be used
    assert [StepHook._timestep(hook, pipe, i, on_device) for i in range(3)] == [749.0, 499.0, 249.0]
    schedule[:] = 0  # copied once: later steps do not read the device again
    assert StepHook._timestep(hook, pipe, 0, on_device) == 749.0


def test_the_schedule_offset_matches_what_img2img_runs():
    runner = Runner(tiny_sd_pipeline(kind="img2img"))
    run = runner.generate("a red star", image=Image.new("RGB", (64, 64), "navy"), strength=0.6, num_inference_steps=10)
    full = runner.pipe.scheduler.timesteps.tolist()
    assert len(run.steps) == 6 < len(full)
    assert [event.timestep for event in run.steps] == full[len(full) - len(run.steps) :]


def test_x0_for_dpm_reads_the_schedule_on_the_host_not_the_device_timestep():
    from diffusers import DPMSolverMultistepScheduler

    from sdwidget.core.x0 import estimate_x0

    scheduler = DPMSolverMultistepScheduler()
    scheduler.set_timesteps(5)
    sample, output = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    tap = X0Tap(scheduler)
    on_device = torch.empty((), device="meta")  # int() of it would fail: the host schedule must be used
    for index in range(3):
        expected = estimate_x0(scheduler, output, scheduler.timesteps[index], sample, index)
        assert torch.equal(estimate_x0(scheduler, output, tap._host(on_device, index), sample, index), expected)
