"""Runs hosted on a real Jupyter kernel's loop: cells run between steps, controls land, results exact.

A kernel is started with jupyter_client and driven as a notebook front end drives it: each
``execute`` is one cell. The run started in one cell goes on between cells on the kernel's own
thread; a later cell pauses it, sees it hold, resumes it and waits for it.
"""

from __future__ import annotations

import json
import time

SETUP = """
import json, threading, time, torch
from sdwidget import Runner
from sdwidget.testing import tiny_sd_pipeline
pipe = tiny_sd_pipeline()
runner = Runner(pipe)
user_threads = torch.get_num_threads()
on_main = {}
runner.observe(lambda e: on_main.setdefault(e.run.id, set()).add(threading.current_thread() is threading.main_thread()))
"""


def cell(client, code: str) -> dict:
    """Execute ``code``; the value it prints last, as JSON."""
    printed: list[str] = []

    def output(msg: dict) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, timeout=120, output_hook=output)
    assert reply["content"]["status"] == "ok", "".join(printed)
    lines = "".join(printed).strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def test_a_hosted_run_lets_cells_run_between_steps_and_obeys_them(kernel):
    cell(kernel, SETUP)
    started = cell(
        kernel,
        """
with runner.on_kernel():
    run = runner.start("a red square", num_inference_steps=12, seed=3, pace=8)
main = threading.current_thread() is threading.main_thread()
print(json.dumps({"hosted": run.on_kernel, "steps": len(run.steps), "main": main}))
""",
    )
    assert started == {"hosted": True, "steps": 0, "main": True}  # the cell returned before any step
    # The kernel idles between cells, and the run takes its steps then: give it that idle time
    # (on a busy machine the first step, encoding included, took longer than a cell's round trip).
    time.sleep(1.0)
    # A cell between steps: the user's torch state is theirs (no no_grad, no thread count leaked).
    between = cell(
        kernel,
        """
time.sleep(0.5)
seen = len(run.steps)
run.pause()
threads = torch.get_num_threads() == user_threads
print(json.dumps({"seen": seen, "grad": torch.is_grad_enabled(), "threads": threads}))
""",
    )
    assert 1 <= between["seen"] < 12, between
    assert between["grad"] is True and between["threads"] is True
    held = cell(
        kernel,
        """
time.sleep(0.6)
a = len(run.steps); time.sleep(0.4); b = len(run.steps)
print(json.dumps({"a": a, "b": b, "status": run.status.value}))
""",
    )
    assert held["status"] == "paused" and held["a"] == held["b"] < 12, held
    done = cell(
        kernel,
        """
run.resume()
ended = run.wait(60)
again = runner.start("a red square", num_inference_steps=12, seed=3, pace=None)  # a thread, as before
again.wait()
import numpy as np
same = bool(np.array_equal(np.asarray(run.image), np.asarray(again.image)))
print(json.dumps({"ended": ended, "status": run.status.value, "steps": len(run.steps), "same": same,
    "thread": not again.on_kernel, "hosted on main": sorted(on_main[run.id]),
    "thread on main": sorted(on_main[again.id])}))
""",
    )
    assert done == {
        "ended": True, "status": "finished", "steps": 12, "same": True, "thread": True,
        "hosted on main": [True], "thread on main": [False],
    }  # fmt: skip


def test_a_run_asked_for_on_another_thread_still_runs_on_the_kernels_thread(kernel):
    """JupyterLab may route a widget's messages to a subshell's thread: a run started there with
    ``on_kernel`` is still hosted by the kernel's own loop (the one the runner was made under)."""
    cell(kernel, SETUP)
    asked = cell(
        kernel,
        """
def ask():
    global run
    with runner.on_kernel():
        run = runner.start("a red square", num_inference_steps=6, seed=3)
asker = threading.Thread(target=ask)
asker.start(); asker.join()
print(json.dumps({"hosted": run.on_kernel}))
""",
    )
    assert asked == {"hosted": True}
    done = cell(
        kernel,
        """
ended = run.wait(60)
print(json.dumps({"ended": ended, "status": run.status.value, "on main": sorted(on_main[run.id])}))
""",
    )
    assert done == {"ended": True, "status": "finished", "on main": [True]}
