"""The benchmarks run, on the CPU path, at a size CI can afford: they cannot rot unnoticed.

They print numbers; nothing here times anything. Each, run as its own ``__main__`` in one shared
interpreter (DRIVER), must exit 0 and print its ratio lines.
The CUDA-only parts of overhead.py (sync counting, the CUDA-event timeline) run here against
fakes of torch's CUDA calls, and the full-size configs are checked against the real models'
parameter counts without allocating them.
"""

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SMALL = ["--device", "cpu", "--steps", "2", "--rounds", "1", "--size", "32"]
RUNS = [  # (script, its arguments, a line it prints)
    ("overhead.py", SMALL, "ratio generate/bare"),
    ("overhead.py", ["--model", "sdxl", *SMALL], "ratio widget/bare"),
    ("memory.py", ["--steps", "50", "--runs", "10", "--history", "4", "--run-steps", "4", "--size", "32"],
     "growth per run"),
    ("branch.py", ["--rounds", "1", "--steps", "6", "--at", "3"], "branch / recompute"),
    ("demo_speed.py", ["--rounds", "1"], "runner / bare"),
    ("threads.py", ["--rounds", "1", "--models", "demo"], "rule picks"),
    ("hosts.py", ["--steps", "6", "--rounds", "1", "--size", "32"], "ratio thread/bare"),
    ("lens.py", ["--rounds", "2", "--steps", "4", "--at", "2"], "lens ms, as the widget sends it"),
    ("flow.py", ["--steps", "2", "--rounds", "1", "--size", "32", "--device", "cpu"], "ratio runner/bare"),
    ("preview_fidelity.py", ["--prompts", "1", "--seeds", "1", "--steps", "3", "--calls", "1", "--wire-steps", "2"],
     "bytes per frame on the wire"),
]  # fmt: skip

# Runs each script as `python benchmarks/SCRIPT ARGS` would (its own __main__ namespace, its folder
# on sys.path, sys.argv), one after another in one interpreter, and prints for each its exit status,
# output and seconds as JSON: the 6-10 CPU-s import of torch and diffusers is paid once, not once a script.
DRIVER = """
import contextlib, io, json, runpy, sys, time, traceback
folder, runs = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, folder)
results = []
for script, args in runs:
    out, err, status, start = io.StringIO(), io.StringIO(), 0, time.perf_counter()
    sys.argv = [f"{folder}/{script}", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        except BaseException:
            traceback.print_exc()
            status = 1
    results.append({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue(),
                    "seconds": time.perf_counter() - start})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def ran() -> list[dict]:
    runs = json.dumps([(script, args) for script, args, _ in RUNS])
    # One torch thread, as the test workers (conftest.py): nothing here is timed, and two OpenMP
    # threads spinning beside the other worker made overhead.py alone take 60-94 s instead of 17 s.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(BENCHMARKS), runs], capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    print("\n" + "\n".join(f"{script} {r['seconds']:.1f} s" for (script, *_), r in zip(RUNS, results, strict=True)))
    return results


@pytest.mark.parametrize("index", range(len(RUNS)), ids=[f"{s}-{' '.join(a[:2])}" for s, a, _ in RUNS])
def test_benchmark_runs_on_the_cpu(ran, index):
    script, _, prints = RUNS[index]
    result = ran[index]
    assert result["status"] == 0, result["stderr"][-2000:]
    assert prints in result["stdout"], result["stdout"]


@pytest.fixture
def overhead(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("overhead")


def test_full_configs_have_the_real_models_sizes(overhead):
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel

    pipelines = importlib.import_module("pipelines")

    def size(module):
        return sum(p.numel() for p in module.parameters())

    with init_empty_weights():  # meta tensors: gigabytes described, none allocated
        unets = {model: UNet2DConditionModel(**pipelines.unet_config(model, full=True)) for model in pipelines.MODELS}
        encoders = [pipelines.text_encoder(768, True), pipelines.text_encoder(1280, True, projection=True)]
    # runwayml/stable-diffusion-v1-5 and stabilityai/stable-diffusion-xl-base-1.0: UNet, CLIP ViT-L, OpenCLIP bigG.
    assert {model: size(unet) for model, unet in unets.items()} == {"sd": 859_520_964, "sdxl": 2_567_463_684}
    assert [size(encoder) for encoder in encoders] == [123_060_480, 694_659_840]
    assert unets["sdxl"].config.addition_embed_type == "text_time"


class FakeCallback:
    """A step callback that makes the given number of 'synchronizing' operations at each step."""

    def __init__(self, syncs):
        self.syncs = iter(syncs)

    def __call__(self, hook, pipe, step, timestep, kwargs):
        for _ in range(next(self.syncs)):
            warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)
        return kwargs


def test_count_syncs_counts_each_sync_and_those_in_each_callback(overhead, monkeypatch):
    modes = []
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode", modes.append)
    clock = overhead.CallbackClock()
    callback = clock.wrap(FakeCallback([0, 2, 1]))

    def run():
        warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)  # outside the callback
        warnings.warn("an unrelated warning", UserWarning, stacklevel=1)
        for step in range(3):
            assert callback(None, None, step, 0, {"latents": 1}) == {"latents": 1}

    assert overhead.count_syncs(run, clock) == 4
    assert clock.syncs == [0, 2, 1] and len(clock.host) == 3
    assert modes == ["warn", 0] and clock.caught is None

    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        overhead.count_syncs(fails, clock)
    assert modes == ["warn", 0, "warn", 0], "the debug mode is reset even when the run fails"


class FakeEvent:
    """``torch.cuda.Event``'s timing surface; ``record`` reads the next stream time (ms)."""

    times = iter(())

    def record(self):
        self.at = next(FakeEvent.times)

    def elapsed_time(self, end):
        return end.at - self.at


def test_timeline_reads_callback_and_step_gpu_time_from_events(overhead):
    clock = overhead.CallbackClock()
    clock.event = FakeEvent
    FakeEvent.times = iter([0.0, 0.2, 10.2, 10.5, 20.5, 20.6])  # before/after each of three callbacks
    callback = clock.wrap(FakeCallback([0, 0, 0]))
    for step in range(3):
        callback(None, None, step, 0, {})
    first, total = clock.timeline()
    assert "step 2 of 3" in first and "GPU step before it 10.000 ms" in first and "GPU 300 us" in first
    assert "GPU median 200 us" in total and "2.91%" in total  # 0.6 ms of callbacks in 20.6 ms
    clock.events = clock.events[:1]
    assert "two or more steps" in clock.timeline()[0]
