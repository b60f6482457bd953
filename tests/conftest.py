import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("ANYWIDGET_HMR", None)

import pytest  # noqa: E402
import torch  # noqa: E402
from diffusers.callbacks import PipelineCallback  # noqa: E402

from sdwidget import Runner, StepEvent  # noqa: E402
from sdwidget.testing import tiny_sd_pipeline, tiny_sdxl_pipeline  # noqa: E402

# One torch thread: the tiny models run fastest on one (sdwidget/core/threads.py), two threads per
# process oversubscribe the 2 cores under `-n 2` or a busy machine (a 2-thread oracle took 10 times
# as long there: OpenMP's workers spin at every barrier), and reference loops and runners use the same.
torch.set_num_threads(1)

# The quick loop for contributors, `pytest -n 2 -m "not browser and not slow"` (README, Contributing),
# leaves out the tests marked here; `.ci/run` runs them all. Files named test_browser*.py drive
# Chromium and are marked `browser`. `slow`: whole files (name) or single tests (file::test, without
# parameters), each with the reason it is slow; every one takes 5 s or more of CPU. Most start a fresh
# interpreter, whose import of torch and diffusers alone is 6-10 CPU-s. The oracles of every family stay.
SLOW = {
    "test_benchmarks.py": "runs each benchmark script in a subprocess",
    "test_demo.py": "runs 50 demo prompts at two guidance scales and judges every image",
    "test_preview_fidelity.py": "decodes every frame of held-out demo runs through the VAE",
    "test_sweep.py::test_a_two_process_accelerate_sweep_equals_a_one_process_sweep": "starts accelerate",
    "test_wheel.py": "builds the wheel with hatchling in a fresh environment",
    "test_reliability.py::test_two_hundred_runs_leak_no_thread_and_no_run": "200 runs",
    "test_steering.py::test_branch_equals_a_fresh_run_and_the_reference_loop": "3 runs and a reference loop, x8",
    "test_steering.py::test_prompt_edited_mid_run_matches_reference_loop": "long runs against a reference loop",
    "test_readme.py::test_every_python_example_runs_and_does_what_its_comments_say": "examples in new interpreters",
    "test_versions.py::test_import_sdwidget_warns_once_for_an_untested_diffusers": "imports in new interpreters",
    "test_quiet.py": "imports sdwidget and builds the demo pipeline in new interpreters",
    "test_kernel_loop.py": "starts real Jupyter kernels",
    "test_click_latency.py": "starts a real Jupyter kernel and times clicks on 0.5 s steps",
    "test_structure.py::test_import_sdwidget_loads_no_training_code_test_helpers_or_jupyterlab": "a new interpreter",
    "test_check.py::test_the_command_is_wired_and_refuses_arguments": "runs python -m sdwidget check",
    "test_reliability.py::test_a_script_that_never_waits_for_its_run_exits_cleanly": "a script in a new interpreter",
    "test_loop_hostile.py::test_a_run_waiting_for_itself_does_not_hang_the_loop": "a script in a new interpreter",
    "test_loop_hostile.py::test_the_process_exits_with_a_run_suspended_on_a_finished_loop": "a new interpreter",
    "test_loop_hostile.py::test_a_run_outliving_its_loop_can_still_be_stopped_or_driven_by_wait": "a new interpreter",
}


def xdist_group(item) -> str:
    """Under `pytest -n N --dist loadgroup` (.ci/run) each file runs on one worker, so its module
    fixtures are built once, and all the browser files on one worker: two JupyterLab servers, their
    kernels and two Chromiums at once on 2 cores would make the browser tests' waits time out
    (.ci/run runs them after the others, alone)."""
    return "browser" if item.path.name.startswith("test_browser") else item.path.name


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        name = item.path.name
        if name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if name in SLOW or f"{name}::{item.originalname}" in SLOW:
            item.add_marker(pytest.mark.slow)
        if grouped:
            item.add_marker(pytest.mark.xdist_group(xdist_group(item)))


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
