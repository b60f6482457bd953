import gc
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("ANYWIDGET_HMR", None)

from fnmatch import fnmatchcase  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config):
    """One torch thread: the tiny models run fastest on one (sdwidget/core/threads.py), two threads
    per process oversubscribe the 2 cores under `-n 2` or a busy machine (a 2-thread oracle took 10
    times as long there: OpenMP's workers spin at every barrier), and reference loops and runners use
    the same. Not in `-n 2`'s controller, which runs no test: torch, sdwidget and diffusers are
    imported where tests run (here and in the helpers below), as its 2 to 8 CPU-s of imports would
    delay every worker's start."""
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return
    import torch

    torch.set_num_threads(1)


# The quick loop for contributors, `pytest -n 2 -m "not browser and not slow"` (README, Contributing),
# leaves out the tests marked here; `.ci/run` runs them all. Files named test_browser*.py drive
# Chromium and are marked `browser`. `slow`, each with the reason: whole files (name), single tests
# (file::test) or some of a test's parameter sets (file::test[pattern], an fnmatch pattern over the
# parameter id). Most take 4 CPU-s or more: a fresh interpreter's import of torch and diffusers alone
# is 6-10 CPU-s. Stress loops and the same oracle again on more schedulers are here too; the quick
# loop keeps an oracle of every family and pipeline kind (Euler, each crossing of 1.0, 1 and 2 images).
AGAIN = "the same oracle on another scheduler; Euler's stays in the quick loop"
PAIRWISE = "pairwise, the quick loop keeps each kind's starts-on with 1 image and starts-off with 2"
TAKEN = "the other crossing of 1.0 on this kind: the quick loop keeps one per kind, and both on others"
BATCHES = "pairwise, the quick loop keeps SD with 2 images a prompt and SDXL with 1"
# The files here come in the order of their time in CI, longest first (pytest --durations):
# under `--dist loadgroup --no-loadscope-reorder` (.ci/run) the two workers take them first, so no
# long file is left to finish alone at the end.
SLOW = {
    "test_preview_fidelity.py": "decodes every frame of held-out demo runs through the VAE",
    "test_demo.py": "runs 50 demo prompts at two guidance scales and judges every image",
    "test_benchmarks.py": "runs each benchmark script (one interpreter for all)",
    "test_reliability.py::test_two_hundred_runs_leak_no_thread_and_no_run": "200 runs",
    "test_reliability.py::test_a_storm_of_controls_from_four_threads_never_wedges_a_run": "10 rounds of 30 steps",
    "test_reliability.py::test_pause_and_stop_racing_at_a_pause_always_end_the_run": "50 races",
    "test_reliability.py::test_a_script_that_never_waits_for_its_run_exits_cleanly": "a script in a new interpreter",
    "test_sweep.py::test_a_two_process_accelerate_sweep_equals_a_one_process_sweep": "starts accelerate",
    "test_sweep.py::test_every_item_replays_the_recorded_curve_and_edit_with_its_own_prompt_and_seed": "12 items",
    "test_sweep.py::test_a_record_replays_its_item_exactly": "the same 12-item demo sweep (a module fixture)",
    "test_sweep.py::test_the_grid_has_every_item_captioned": "the same 12-item demo sweep (a module fixture)",
    "test_sweep.py::test_an_interrupted_sweep_resumes_without_redoing_finished_items": "three demo sweeps",
    "test_check.py": "the SD, SDXL, SD3 and Flux oracles of python -m sdwidget check, twice; the command itself",
    "test_loop_hostile.py::test_a_run_waiting_for_itself_does_not_hang_the_loop": "a script in a new interpreter",
    "test_loop_hostile.py::test_the_process_exits_with_a_run_suspended_on_a_finished_loop": "a new interpreter",
    "test_loop_hostile.py::test_a_run_outliving_its_loop_can_still_be_stopped_or_driven_by_wait": "a new interpreter",
    "test_wheel.py": "builds the wheel with hatchling in a fresh environment",
    "test_kernel_loop.py": "starts real Jupyter kernels",
    "test_quiet.py": "imports sdwidget and builds the demo pipeline in new interpreters",
    "test_readme.py::test_every_python_example_runs_and_does_what_its_comments_say": "examples in new interpreters",
    "test_frames_hostile_runs.py::test_a_thousand_steps_nobody_reads_end_as_thumbnails_not_latents": "1,000 steps",
    "test_frames_hostile_finite.py::test_a_half_precision_run_whose_unet_turns_nan_fails_at_that_step[184-*]": (
        "the same run at 184², latents above the reduction grain in half precision (8 s each); the quick loop keeps "
        "it at 32² and the check of latents above the grain (test_frames_hostile_finite's own)"
    ),
    "test_families.py::test_guidance_crossing_one_matches_reference_loop[*-dpm-karras]": AGAIN,
    "test_families.py::test_guidance_crossing_one_matches_reference_loop[*-euler-a]": AGAIN,
    "test_families.py::test_guidance_crossing_one_matches_reference_loop[*-starts-on-2-euler]": PAIRWISE,
    "test_families.py::test_guidance_crossing_one_matches_reference_loop[*-starts-off-1-euler]": PAIRWISE,
    "test_controlnet_more.py::test_controlnet_guidance_crossing_one_equals_reference_loop[*-dpm-karras]": AGAIN,
    "test_controlnet_more.py::test_controlnet_guidance_crossing_one_equals_reference_loop[i*-starts-off-euler]": TAKEN,
    "test_controlnet_more.py::test_controlnet_guidance_crossing_one_equals_reference_loop[sdxl*-on-euler]": TAKEN,
    "test_steering.py::test_branch_equals_a_fresh_run_and_the_reference_loop[*-d*]": AGAIN,
    "test_steering.py::test_branch_equals_a_fresh_run_and_the_reference_loop[*-euler-a]": AGAIN,
    "test_ip_adapter.py::test_guidance_crossing_one_matches_reference_loop[*-dpm-karras-*]": AGAIN,
    "test_ip_adapter.py::test_guidance_crossing_one_matches_reference_loop[sdxl-euler-starts-off]": TAKEN,
    "test_ip_adapter.py::test_guidance_crossing_one_matches_reference_loop[img2img-euler-starts-on]": TAKEN,
    "test_structure.py::test_import_sdwidget_loads_no_training_code_test_helpers_or_jupyterlab": "a new interpreter",
    "test_versions.py::test_import_sdwidget_warns_once_for_an_untested_diffusers": "imports in new interpreters",
    "test_click_latency.py": "starts a real Jupyter kernel and times clicks on 0.5 s steps",
    "test_sweep_scale_grid.py::test_a_grid_too_big_for_the_widget_shrinks_and_pages_and_the_widget_opens_it": "a sweep",
    "test_shapes_benchmark.py::test_every_model_prints_its_row_at_tiny_widths": "every model of the benchmark",
    "test_controls.py::test_fifty_runs_back_to_back_leave_no_threads": "50 runs",
    "test_sweep_scale.py::test_a_sweep_of_two_million_items_costs_the_memory_of_one_of_twenty": (
        "plans two million items under tracemalloc"
    ),
    "test_hostile_galleries.py::test_a_tampered_gallery_is_refused_with_a_value_error_naming_it[200k-steps]": (
        "writes and refuses a 200,000-step record"
    ),
    "test_reliability_round3.py::test_a_branch_of_a_branch_of_a_branch_equals_a_fresh_run[d*]": AGAIN,
    "test_reliability_round3.py::test_a_branch_of_a_branch_of_a_branch_equals_a_fresh_run[euler-a]": AGAIN,
    "test_bounded_reads.py::test_blank_lines_are_skipped_and_counted_as_no_records": (
        "reads 40 MiB of blank lines under tracemalloc"
    ),
    "test_batches.py::test_batch_steered_and_edited_matches_reference_loop[sd-1]": BATCHES,
    "test_batches.py::test_batch_steered_and_edited_matches_reference_loop[sdxl-2]": BATCHES,
}


def is_slow(item) -> bool:
    name = item.path.name
    callspec = getattr(item, "callspec", None)
    for key in SLOW:
        where, _, pattern = key.partition("[")
        if where not in (name, f"{name}::{item.originalname}"):
            continue
        if not pattern or (callspec is not None and fnmatchcase(callspec.id, pattern.removesuffix("]"))):
            return True
    return False


def longest_first(items: list) -> None:
    """Groups with slow tests first, in SLOW's order (longest first), then the others by their
    number of tests, most first (xdist's own order, which `--no-loadscope-reorder` turns off)."""
    rank: dict[str, int] = {}
    for key in SLOW:
        rank.setdefault(key.partition("::")[0].partition("[")[0], len(rank))
    counts: dict[str, int] = {}
    for item in items:
        counts[xdist_group(item)] = counts.get(xdist_group(item), 0) + 1
    items.sort(key=lambda item: (rank.get(xdist_group(item), len(rank)), -counts[xdist_group(item)], xdist_group(item)))


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
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
        if grouped:
            item.add_marker(pytest.mark.xdist_group(xdist_group(item)))
    if config.getoption("dist", "no") == "loadgroup":
        longest_first(items)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    """No garbage collection while the test files import torch, diffusers and make their own
    objects (half a million, scanned at every full collection: 4 of a worker's 16 CPU-s of
    collection); then all of it, alive all session, frozen: later full collections skip it."""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


BROWSERS = pytest.StashKey()


@pytest.fixture(scope="session")
def browsers(request, tmp_path_factory):
    """One JupyterLab server (Notebook 7 too), one kernel and one Chromium for all the browser test
    files, started when the first asks (``tests/browser_fixtures.py``)."""
    from browser_fixtures import Browsers

    shared = request.config.stash[BROWSERS] = Browsers(tmp_path_factory)
    yield shared
    shared.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last browser test in a row, once its module's pages are closed, the shared browser
    and server go: Playwright's sync API keeps an event loop on this thread, which would refuse
    ``asyncio.run`` to the tests after. A later browser test starts them again."""
    try:
        return (yield)
    finally:
        shared = item.config.stash.get(BROWSERS, None)
        if shared is not None and (nextitem is None or not nextitem.path.name.startswith("test_browser")):
            shared.close()


@pytest.fixture(autouse=True)
def torch_threads_kept():
    """A test that sets torch's thread count (as a user would) leaves it to the next test as it
    found it: left at 2, every later test of its worker oversubscribed the 2 cores."""
    import torch

    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def one_calibration_per_vae_weights():
    """``auto_preview`` fits each tiny VAE's preview map once per weights, not per pipeline built
    (``tests/calibration_memo.py``: 6% of the quick loop's CPU)."""
    from calibration_memo import install

    install()


@pytest.fixture(scope="session")
def sd_pipe():
    from sdwidget.testing import tiny_sd_pipeline

    return tiny_sd_pipeline()


@pytest.fixture(scope="session")
def sdxl_pipe():
    from sdwidget.testing import tiny_sdxl_pipeline

    return tiny_sdxl_pipeline()


@pytest.fixture
def runner(sd_pipe):
    from sdwidget import Runner

    return Runner(sd_pipe)


def at_step(runner, step, action):
    """Run ``action(run)`` from the step hook when ``step`` has been recorded (deterministic timing)."""
    from sdwidget import StepEvent

    def observer(event):
        if isinstance(event, StepEvent) and event.step == step:
            action(runner.run)

    return runner.observe(observer)


def __getattr__(name: str):
    """``Raising``, built when a test file imports it (PEP 562): it subclasses diffusers' callback."""
    if name != "Raising":
        raise AttributeError(name)
    from diffusers.callbacks import PipelineCallback

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

    globals()["Raising"] = Raising
    return Raising


@pytest.fixture
def one_thread():
    """The runner and a reference loop on one torch thread each: the same order of sums (oracle
    tests compare bit for bit), and a tiny model runs fastest so on a busy CPU."""
    import torch

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
