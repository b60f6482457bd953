"""The benchmarks run, on the CPU path, at a size CI can afford: they cannot rot unnoticed.

They print numbers; nothing here times anything. Each must exit 0 and print its ratio lines.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "prints"),
    [
        ("overhead.py", ["--device", "cpu", "--steps", "2", "--rounds", "1", "--size", "64"], "ratio generate/bare"),
        ("branch.py", ["--rounds", "1", "--steps", "6", "--at", "3"], "branch / recompute"),
        ("demo_speed.py", ["--rounds", "1"], "runner / bare"),
    ],
)
def test_benchmark_runs_on_the_cpu(script, args, prints):
    done = subprocess.run([sys.executable, BENCHMARKS / script, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert prints in done.stdout, done.stdout
