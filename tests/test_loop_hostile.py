"""Hostile tests of runs hosted on an asyncio loop (``Runner.on_kernel``, core/loop.py).

In-process tests play the kernel: ``asyncio.run`` on the main thread starts runs under
``on_kernel()`` and awaits between their steps. A hang on the main thread cannot be cancelled,
so every test runs under a faulthandler watchdog (it dumps the stacks and exits) and every await
under ``asyncio.wait_for``; scenarios that are known to hang run in a subprocess with a timeout.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from conftest import Raising

from sdwidget import Runner, RunStatus, StepEvent
from sdwidget.testing import tiny_sd_pipeline

GUARD = 120  # seconds before the watchdog kills a hung test run


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(GUARD, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def on_loop(body):
    """Run ``body()`` (a coroutine function) as the kernel's loop would, bounded in time."""
    return asyncio.run(asyncio.wait_for(body(), GUARD / 2))


async def until(predicate):
    """Let the loop turn (and so the hosted run go on) until ``predicate()`` holds."""
    while not predicate():
        await asyncio.sleep(0.002)


def hosted(runner, prompt="a red star", **kwargs):
    with runner.on_kernel():
        run = runner.start(prompt, num_inference_steps=kwargs.pop("steps", 6), seed=kwargs.pop("seed", 1), **kwargs)
    assert run.on_kernel  # otherwise the test would test a thread
    return run


def same(a, b):
    return np.array_equal(np.asarray(a.image), np.asarray(b.image)) and torch.equal(a.latents, b.latents)


def test_pause_then_stop_while_hosted_keeps_the_partial_run_and_frees_the_runner(runner):
    async def body():
        run = hosted(runner, pause_at=[2])
        await until(lambda: run.status is RunStatus.PAUSED)
        for _ in range(20):  # the loop turns; the held run must not creep on
            await asyncio.sleep(0.005)
        held = len(run.steps)
        run.stop()
        await until(lambda: run.done)
        nxt = hosted(runner, steps=2)
        await until(lambda: nxt.done)
        return run, held, nxt

    run, held, nxt = on_loop(body)
    assert (held, run.status, len(run.steps), run.image is not None) == (2, RunStatus.STOPPED, 2, True)
    assert nxt.status is RunStatus.FINISHED


def test_resume_and_stop_from_other_threads_reach_the_hosted_run(runner):
    async def body():
        run = hosted(runner, pause_at=[2, 4])
        await until(lambda: run.status is RunStatus.PAUSED)
        threading.Thread(target=run.resume).start()
        await until(lambda: len(run.steps) == 4 and run.status is RunStatus.PAUSED)
        threading.Thread(target=run.stop).start()
        await until(lambda: run.done)
        return run

    run = on_loop(body)
    assert (run.status, len(run.steps)) == (RunStatus.STOPPED, 4)


def test_step_once_repeatedly_runs_one_step_each_time_then_resume_finishes(runner):
    async def body():
        run, counts = hosted(runner, steps=6, pause_at=[1]), []
        await until(lambda: run.status is RunStatus.PAUSED)
        for k in range(2, 6):
            run.step_once()
            await until(lambda k=k: len(run.steps) == k and run.status is RunStatus.PAUSED)
            for _ in range(5):
                await asyncio.sleep(0.002)
            counts.append(len(run.steps))
        run.resume()
        await until(lambda: run.done)
        return run, counts

    run, counts = on_loop(body)
    assert counts == [2, 3, 4, 5] and (run.status, len(run.steps)) == (RunStatus.FINISHED, 6)
    assert same(run, runner.generate("a red star", num_inference_steps=6, seed=1))


def test_pace_changed_mid_run_wakes_the_wait_and_leaves_the_result_exact(runner):
    """A pace of 0.001 waits 1000 s a step: only a wake from set_pace can let the run finish."""

    async def body():
        run = hosted(runner, pace=0.001)
        await until(lambda: len(run.steps) == 1)
        runner.set_pace(1000)  # fast: ends the first wait
        await until(lambda: len(run.steps) >= 2)
        runner.set_pace(0.001)  # slow again
        await asyncio.sleep(0.05)
        threading.Thread(target=runner.set_pace, args=(None,)).start()  # full speed, from a thread
        await until(lambda: run.done)
        return run

    run = on_loop(body)
    runner.set_pace(None)
    assert (run.status, len(run.steps)) == (RunStatus.FINISHED, 6)
    assert same(run, runner.generate("a red star", num_inference_steps=6, seed=1))


@pytest.mark.parametrize(
    ("exc", "status"),
    [(ZeroDivisionError("boom"), RunStatus.FAILED), (KeyboardInterrupt(), RunStatus.STOPPED)],
    ids=["error", "interrupt"],
)
def test_a_run_failing_inside_the_pipeline_ends_without_touching_the_loop(runner, exc, status):
    async def body():
        run = hosted(runner, callbacks=[Raising(exc)])
        await until(lambda: run.done)
        again = hosted(runner, steps=2)  # the runner is free and the loop still hosts
        await until(lambda: again.done)
        return run, again

    run, again = on_loop(body)
    assert (run.status, run.error, len(run.steps)) == (status, exc, 2)
    assert again.status is RunStatus.FINISHED


def test_a_second_start_while_a_run_is_hosted_raises_from_any_thread(runner):
    async def body():
        run, refused = hosted(runner, pause_at=[1]), []
        await until(lambda: run.status is RunStatus.PAUSED)

        def other():
            try:
                hosted(runner)
            except RuntimeError as exc:
                refused.append(str(exc))

        with pytest.raises(RuntimeError, match="still going"):
            hosted(runner)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        run.resume()
        await until(lambda: run.done)
        return run, refused

    run, refused = on_loop(body)
    assert run.status is RunStatus.FINISHED and len(refused) == 1 and "still going" in refused[0]


def test_branching_a_paused_hosted_run_stops_it_and_the_branch_is_exact(runner):
    async def body():
        run = hosted(runner, pause_at=[3])
        await until(lambda: run.status is RunStatus.PAUSED)
        with runner.on_kernel():
            child = runner.branch(run, 2, guidance_scale=3.0)  # stops and drives the parent to its end
        stopped = run.status
        await until(lambda: child.done)
        return run, stopped, child

    run, stopped, child = on_loop(body)
    assert stopped is RunStatus.STOPPED and child.on_kernel and child.status is RunStatus.FINISHED
    fresh = runner.generate("a red star", num_inference_steps=6, seed=1, guidance_schedule=[7.5] * 2 + [3.0] * 4)
    assert same(child, fresh)


def test_wait_with_a_timeout_on_the_loop_thread_leaves_a_paused_run_resumable(runner):
    async def body():
        run = hosted(runner, pause_at=[2, 4])
        await until(lambda: run.status is RunStatus.PAUSED)
        timed_out = run.wait(0.05)  # the loop is blocked meanwhile: the run must stay held
        held = (run.status, len(run.steps))
        run.resume()  # resumed by the loop, as a widget message would
        await until(lambda: len(run.steps) == 4 and run.status is RunStatus.PAUSED)
        threading.Timer(0.05, run.resume).start()  # a resume from a thread wakes a waiting cell
        ended = run.wait(GUARD / 4)
        return run, timed_out, held, ended

    run, timed_out, held, ended = on_loop(body)
    assert (timed_out, held, ended) == (False, (RunStatus.PAUSED, 2), True)
    assert (run.status, len(run.steps)) == (RunStatus.FINISHED, 6)


def test_observers_raising_do_not_stop_a_hosted_run(runner):
    runner.observe(lambda e: 1 / 0)

    async def body():
        run = hosted(runner)
        await until(lambda: run.done)
        return run

    run = on_loop(body)
    assert (run.status, len(run.steps)) == (RunStatus.FINISHED, 6) and "ZeroDivisionError" in runner.observer_error


def test_the_loop_sees_its_own_torch_state_between_steps_and_the_run_its_own(runner):
    inside = []
    state = (torch.is_grad_enabled, torch.get_num_threads)
    runner.observe(lambda e: inside.append((state[0](), state[1]())) if isinstance(e, StepEvent) else None)
    before = torch.get_num_threads()

    async def body():
        run, between = hosted(runner, steps=8, pace=1000), []
        torch.set_num_threads(3)  # the user's setting, changed while the run goes on
        while not run.done:
            between.append((torch.is_grad_enabled(), torch.get_num_threads()))
            await asyncio.sleep(0.001)
        return run, between, (torch.is_grad_enabled(), torch.get_num_threads())

    try:
        run, between, after = on_loop(body)
    finally:
        torch.set_num_threads(before)
    assert run.status is RunStatus.FINISHED and len(between) > 1
    assert set(between) == {(True, 3)} and after == (True, 3)
    assert set(inside) == {(False, 1)} and len(inside) == 8  # the pipeline's steps: one thread, no grad


def test_a_run_asked_for_on_another_thread_is_hosted_by_the_loop_the_runner_was_made_on(sd_pipe):
    async def body():
        runner, box = Runner(sd_pipe), []
        on_main = set()
        runner.observe(lambda e: on_main.add(threading.current_thread() is threading.main_thread()))
        thread = threading.Thread(target=lambda: box.append(hosted(runner)))
        thread.start()
        thread.join()
        await until(lambda: box[0].done)
        return box[0], on_main

    run, on_main = on_loop(body)
    assert run.status is RunStatus.FINISHED and on_main == {True}


def test_a_hosted_result_equals_a_thread_result(runner):
    thread_run = runner.start("a red star", num_inference_steps=6, seed=1, guidance_scale=5.0)
    thread_run.wait()

    async def body():
        run = hosted(runner, guidance_scale=5.0)
        await until(lambda: run.done)
        return run

    run = on_loop(body)
    assert not thread_run.on_kernel and same(run, thread_run)


def test_the_loop_turns_between_every_two_steps_of_a_full_speed_run(runner):
    async def body():
        run, seen = hosted(runner, steps=8), set()
        while not run.done:
            seen.add(len(run.steps))
            await asyncio.sleep(0)
        return run, seen

    run, seen = on_loop(body)
    assert run.status is RunStatus.FINISHED and set(range(1, 8)) <= seen


def test_guidance_set_by_the_loop_while_paused_is_exact_from_the_next_step(runner):
    async def body():
        run = hosted(runner, pause_at=[2])
        await until(lambda: run.status is RunStatus.PAUSED)
        run.set_guidance(3.0)
        run.resume()
        await until(lambda: run.done)
        return run

    run = on_loop(body)
    assert run.guidance == [7.5] * 2 + [3.0] * 4
    assert same(run, runner.generate("a red star", num_inference_steps=6, seed=1, guidance_schedule=run.guidance))


def test_two_runners_hosted_at_once_interleave_and_stay_exact(sd_pipe):
    other = Runner(tiny_sd_pipeline())
    first = Runner(sd_pipe)

    async def body():
        a, b = hosted(first, steps=6), hosted(other, "a blue circle", steps=6, seed=2)
        order = []
        while not (a.done and b.done):
            order.append((len(a.steps), len(b.steps)))
            await asyncio.sleep(0)
        return a, b, order

    a, b, order = on_loop(body)
    assert a.status is b.status is RunStatus.FINISHED
    assert any(0 < x < 6 and 0 < y < 6 for x, y in order)  # both were part-way at once
    assert same(a, first.generate("a red star", num_inference_steps=6, seed=1))
    assert same(b, other.generate("a blue circle", num_inference_steps=6, seed=2))


def test_a_cell_interrupted_while_waiting_leaves_the_paused_run_resumable(runner):
    async def body():
        run = hosted(runner, pause_at=[2])
        await until(lambda: run.status is RunStatus.PAUSED)
        # A kernel's Ctrl-C raises KeyboardInterrupt in the cell (asyncio.run's own handler only cancels).
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
            with pytest.raises(KeyboardInterrupt):
                run.wait()  # polls a paused run: the interrupt lands in the cell, not in the run
        finally:
            signal.signal(signal.SIGINT, previous)
        held = (run.status, len(run.steps))
        run.resume()
        await until(lambda: run.done)
        return run, held

    run, held = on_loop(body)
    assert held == (RunStatus.PAUSED, 2) and (run.status, len(run.steps)) == (RunStatus.FINISHED, 6)


# Bugs this review found, fixed: nested on_kernel blocks, a run outliving its loop, a run waiting for itself.


def test_leaving_a_nested_on_kernel_block_keeps_the_outer_one(runner):
    async def body():
        with runner.on_kernel():
            with runner.on_kernel():
                pass
            run = runner.start("a red star", num_inference_steps=2, seed=1)
        run.wait(GUARD / 4)
        return run

    assert on_loop(body).on_kernel


def in_process(code: str) -> dict:
    """Run ``code`` (after SETUP) in a fresh interpreter, which a hang cannot take down with it;
    the JSON it prints last."""
    done = subprocess.run([sys.executable, "-c", SETUP + code], capture_output=True, text=True, timeout=40, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


SETUP = """
import asyncio, json
from sdwidget import Runner, StepEvent
from sdwidget.testing import tiny_sd_pipeline
runner = Runner(tiny_sd_pipeline())

async def begin(**kwargs):
    with runner.on_kernel():
        run = runner.start("a red star", num_inference_steps=6, seed=1, **kwargs)
    while not run.steps:
        await asyncio.sleep(0.002)
    return run
"""

LOOP_ENDS = """
run = asyncio.run(begin(pace=4))  # returns while the run waits for its pace
suspended = run.status.value
try:
    run.stop()
    stop_error = None
except Exception as exc:
    stop_error = repr(exc)
run.wait(30)
stopped = [run.status.value, repr(run.error)]
run = asyncio.run(begin(pace=4))
run.wait(30)  # the loop is gone: this cell drives the run to its end
driven = [run.status.value, repr(run.error), len(run.steps)]
left = asyncio.run(begin(pace=4))  # left suspended while the interpreter exits
print(json.dumps({"suspended": suspended, "stop_error": stop_error, "stopped": stopped, "driven": driven}))
"""


@pytest.fixture(scope="module")
def loop_ended():
    return in_process(LOOP_ENDS)


def test_the_process_exits_with_a_run_suspended_on_a_finished_loop(loop_ended):
    assert loop_ended["suspended"] == "running"  # in_process asserted a clean, prompt exit


def test_a_run_outliving_its_loop_can_still_be_stopped_or_driven_by_wait(loop_ended):
    assert loop_ended["stop_error"] is None and loop_ended["stopped"] == ["stopped", "None"]
    assert loop_ended["driven"] == ["finished", "None", 6]


def test_a_run_waiting_for_itself_does_not_hang_the_loop():
    out = in_process(
        """
waits = []
runner.observe(lambda e: waits.append(repr(e.run.wait(0.05))) if isinstance(e, StepEvent) and e.step == 1 else None)
async def main():
    run = await begin()
    while not run.done:
        await asyncio.sleep(0.002)
    return run
run = asyncio.run(main())
print(json.dumps({"status": run.status.value, "waits": waits, "raised": runner.observer_error is not None}))
"""
    )
    assert out["status"] == "finished" and (out["waits"] == ["False"] or out["raised"])
