import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("ANYWIDGET_HMR", None)

import pytest  # noqa: E402
import torch  # noqa: E402
from diffusers.callbacks import PipelineCallback  # noqa: E402

from sdwidget import Runner, StepEvent  # noqa: E402
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline  # noqa: E402

torch.set_num_threads(2)

# The quick loop for contributors, `pytest -m "not browser and not slow"` (README, Contributing),
# leaves out the tests marked here; `.ci/run` runs them all. Files named test_browser*.py drive
# Chromium and are marked `browser`. `slow`: whole files (name) or single tests (file::test, without
# parameters), each with the reason it is slow; every one of these takes 10 s or more on 2 cores.
SLOW = {
    "test_benchmarks.py": "runs each benchmark script in a subprocess",
    "test_demo.py": "runs 50 demo prompts at two guidance scales and judges every image",
    "test_preview_fidelity.py": "decodes every frame of held-out demo runs through the VAE",
    "test_sweep.py::test_a_two_process_accelerate_sweep_equals_a_one_process_sweep": "starts accelerate",
    "test_wheel.py": "builds the wheel with hatchling in a fresh environment",
    "test_reliability.py::test_two_hundred_runs_leak_no_thread_and_no_run": "200 runs",
    "test_steering.py::test_branch_equals_a_fresh_run_and_the_reference_loop": "3 runs and a reference loop, x8",
    "test_steering.py::test_prompt_edited_mid_run_matches_reference_loop": "long runs against a reference loop",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if name in SLOW or f"{name}::{item.originalname}" in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sd_pipe():
    return tiny_sd_pipeline()


@pytest.fixture(scope="session")
def sdxl_pipe():
    return tiny_sdxl_pipeline()


@pytest.fixture
def runner(sd_pipe):
    return Runner(sd_pipe)


def at_step(runner, step, action):
    """Run ``action(run)`` from the step hook when ``step`` has been recorded (deterministic timing)."""

    def observer(event):
        if isinstance(event, StepEvent) and event.step == step:
            action(runner.run)

    return runner.observe(observer)


class Raising(PipelineCallback):
    """A user's callback that raises ``exc`` at the second step."""

    tensor_inputs = []

    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def callback_fn(self, pipe, step_index, timestep, callback_kwargs):
        if step_index == 1:
            raise self.exc
        return callback_kwargs


@pytest.fixture
def one_thread():
    """The runner and a reference loop on one torch thread each: the same order of sums (oracle
    tests compare bit for bit), and a tiny model runs fastest so on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def kernel():
    """A real Jupyter kernel, driven through jupyter_client as a notebook front end drives it."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
