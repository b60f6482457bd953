"""Small faults of issue 30: a pace too slow to sleep, a lone-surrogate prompt, decode_step's
bounds and unkept steps, and a cell's wait() on a paused kernel-hosted run."""

from __future__ import annotations

import asyncio
import faulthandler
import re
import threading

import pytest

from sdwidget import Runner, RunStatus
from sdwidget.core import validate
from sdwidget.core.latents import StepNotKept

GUARD = 120  # a hang on the main thread cannot be cancelled: the watchdog dumps stacks and exits


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(GUARD, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def test_a_pace_too_slow_to_sleep_is_refused_naming_the_minimum(sd_pipe):
    runner = Runner(sd_pipe)
    for slow in (1e-11, 1e-300, 0.0009):
        with pytest.raises(
            ValueError, match=rf"pace must be at least 0.001 steps per second \(None: full speed\), got {slow:g}"
        ):
            runner.start("a red star", num_inference_steps=2, pace=slow)
        with pytest.raises(ValueError, match="pace must be at least 0.001"):
            runner.set_pace(slow)
    assert runner.run is None and runner.pace is None
    assert validate.pace(0.001) == 0.001 and validate.pace(1000) == 1000.0
    run = runner.start("a red star", num_inference_steps=2, pace=0.001)  # the slowest: stopped at once
    run.stop()
    assert run.wait(30) and run.status is RunStatus.STOPPED and run.error is None


@pytest.mark.parametrize("text, where", [("\ud800", 1), ("a cat \udfff", 7), ("\U0001f600 ok \ud83d", 6)])
def test_a_lone_surrogate_prompt_is_refused_naming_the_field(sd_pipe, text, where):
    runner = Runner(sd_pipe)
    code = f"U+{ord(text[where - 1]):04X}"
    with pytest.raises(ValueError, match=re.escape(f"prompt holds a lone surrogate ({code}) at character {where}; ")):
        runner.start(text, num_inference_steps=2)
    with pytest.raises(ValueError, match="^negative_prompt holds a lone surrogate"):
        runner.start("a red star", negative_prompt=text, num_inference_steps=2)
    assert runner.run is None, "nothing started"
    run = runner.start("a red star", num_inference_steps=3, pause_at=[1])
    try:
        with pytest.raises(ValueError, match="^prompt holds a lone surrogate"):
            runner.set_prompt(text)
    finally:
        run.stop()
        run.wait(30)
    assert validate.prompt("prompt", "a whole pair \U0001f600 is text") == "a whole pair \U0001f600 is text"


def test_decode_step_refuses_a_step_past_the_last_and_an_unkept_one_with_value_errors(sd_pipe):
    one_step = 4 * 32 * 32 * 4  # 4 channels × 32×32 latents of a 64×64 image × float32 bytes
    run = Runner(sd_pipe, latent_budget=3 * one_step).generate(
        "a red star", num_inference_steps=5, seed=1, height=64, width=64, keep_latents=True
    )
    assert len(run.steps) == 5 and run.kept_steps == [0, 1, 2]
    with pytest.raises(ValueError, match="^step must be between 0 and 4, got 5$"):
        run.decode_step(len(run.steps))
    with pytest.raises(ValueError) as raised:
        run.decode_step(4)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, StepNotKept), (
        "KeyError catchers still catch it"
    )
    assert str(raised.value) == "no latents kept for step 4: steps 0..2 were kept (budget 0 MiB)"
    assert run.decode_step(2).size == (64, 64)


def hosted(runner, **kwargs):
    with runner.on_kernel():
        run = runner.start("a red star", num_inference_steps=6, seed=1, **kwargs)
    assert run.on_kernel
    return run


async def until(predicate):
    while not predicate():
        await asyncio.sleep(0.002)


def test_a_cell_waiting_on_a_paused_kernel_hosted_run_is_told_why_it_waits(sd_pipe):
    """It waits until interrupted, as a cell should (tests/test_loop_hostile.py interrupts one),
    but says so at once: nothing in the notebook can resume the run while the cell holds the thread."""
    runner = Runner(sd_pipe)

    async def body():
        run = hosted(runner, pause_at=[2])
        await until(lambda: run.status is RunStatus.PAUSED)
        rescue = threading.Timer(0.5, run.stop)  # another thread can still end it (after the wait warns)
        rescue.start()
        with pytest.warns(RuntimeWarning, match=f"^run {run.id} is paused and runs on the kernel's thread"):
            assert run.wait() is True
        assert run.status is RunStatus.STOPPED and len(run.steps) == 2
        assert run.wait(0.05) is True, "a wait with a timeout just returns"

        later = hosted(runner, pause_at=[3])  # reaches its breakpoint while the cell waits
        rescue = threading.Timer(0.5, later.stop)
        rescue.start()
        with pytest.warns(RuntimeWarning, match="is paused and runs on the kernel's thread"):
            assert later.wait() is True
        assert len(later.steps) == 3 and later.status is RunStatus.STOPPED

    asyncio.run(asyncio.wait_for(body(), GUARD / 2))
