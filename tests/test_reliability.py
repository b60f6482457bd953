"""The run and the widget survive: hostile messages, control storms, long use, faults, closing."""

import asyncio
import functools
import gc
import itertools
import random
import re
import subprocess
import sys
import threading
import time
import weakref
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import Raising, at_step

from sdwidget import Runner, RunStatus, SamplerWidget, StepEvent
from sdwidget.core import Run

GENERATE = {"type": "generate", "prompt": "a red star", "negative_prompt": "", "steps": 12, "seed": 4, "guidance": 5.0}


class Browser:
    """Plays the front end (as in test_widget): records frames, acks them; the first ``failures`` sends raise."""

    def __init__(self, widget, failures=0):
        self.widget, self.failures, self.messages, self.lock = widget, failures, [], threading.Lock()
        widget.send = self.receive

    def receive(self, msg, buffers=None):
        if self.failures:
            self.failures -= 1
            raise OSError("comm closed")
        with self.lock:
            self.messages.append(msg)
        if msg["type"] == "frames":
            self.say({"type": "ack", "run": msg["frames"][0]["run"]})

    def say(self, content):
        self.widget._on_message(self.widget, content, [])

    def steps(self, run_id):
        with self.lock:
            frames = [meta for msg in self.messages if msg["type"] == "frames" for meta in msg["frames"]]
        return [meta["step"] for meta in frames if meta["run"] == run_id]


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def browser_run(widget, browser, **fields):
    browser.say({**GENERATE, **fields})
    run = widget.runner.run
    assert run.wait(30)
    wait_for(lambda: widget.run_id == run.id and widget.status == run.status.value)
    return run


def deep(depth):
    return functools.reduce(lambda inner, _: [inner], range(depth), [])


HUGE = [10**400, -(10**400), 10**5000]
ODD = [None, True, False, float("nan"), float("inf"), -float("inf"), [1], {"a": 1}, "x" * 100_000, deep(3000)]
BAD = {  # values each field refuses; a missing seed or an empty negative prompt is valid, so neither is here
    "steps": [0, -3, 1001, 5.0, "5", *HUGE, *ODD],
    "guidance": [-0.5, 100.5, 1e308, "7", *HUGE, *ODD],
    "seed": [-1, 2**63, 1.5, "3", *HUGE, *ODD[1:]],
    "prompt": [42, "x" * 5000, *HUGE, *ODD],
    "negative_prompt": [v for v in [42, "x" * 5000, *HUGE, *ODD] if v],
    "run": [-(2**31) - 1, 2**31 + 1, 1.5, "1", *HUGE, *ODD],
}
VALID = {"generate": {k: v for k, v in GENERATE.items() if k != "type"}, "guidance": {"value": 3.0}, "ack": {"run": 1},
         "save": {"run": 1}, "frames": {"run": 1}, "pause": {}, "resume": {}, "stop": {}, "sync": {}}  # fmt: skip
REQUIRED = {"generate": ["prompt", "steps", "guidance"], "guidance": ["value"], "ack": ["run"], "save": ["run"],
            "frames": ["run"]}  # fmt: skip
NOT_OBJECTS = [None, 5, "generate", [GENERATE], deep(3000), 10**5000, float("nan"), b"bytes"]
BAD_TYPES = [None, 5, 10**400, "", "Generate", "PAUSE", "generate ", "launch_missiles", ["stop"], {"t": 1}, True]
EXTRA_KEYS = ["path", "x" * 1000, "Type", "__proto__", "steps ", "runs", ""]


def hostile(rng):
    """One message that a correct handler must refuse: not an object, unknown type, extra field
    (on every kind), missing field, or a field of the wrong type or size."""
    kind, roll = rng.choice(list(VALID)), rng.random()
    body = {"type": kind, **VALID[kind]}
    if roll < 0.1:
        return rng.choice(NOT_OBJECTS)
    if roll < 0.2:
        return {**body, "type": rng.choice(BAD_TYPES)}
    if roll < 0.5 or kind not in REQUIRED:
        return {**body, rng.choice(EXTRA_KEYS): rng.choice([*ODD, *HUGE, 1])}
    if roll < 0.6:
        return {k: v for k, v in body.items() if k != rng.choice(REQUIRED[kind])}
    field = rng.choice(list(VALID[kind]))
    return {**body, field: rng.choice(BAD["guidance" if field == "value" else field])}


def test_thousands_of_hostile_messages_during_a_run_are_all_refused_visibly(sd_pipe):
    """Guards against a message escaping ``_on_message``, a silent refusal, a hostile value
    reaching the run, a lost frame, and a refusal message that is never cleared."""
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    gates = [threading.Event() for _ in range(3)]
    for step, gate in zip((2, 5, 8), gates, strict=True):  # the run goes on, in stages, while messages arrive
        at_step(widget.runner, step, lambda run, gate=gate: gate.wait(30))
    me, shown = threading.get_ident(), []  # what the handler, on this thread, wrote into ``message``
    widget.observe(lambda change: shown.append(change["new"]) if threading.get_ident() == me else None, "message")
    browser.say(GENERATE)
    run, rng, escaped, silent = widget.runner.run, random.Random(0), [], []
    for i in range(3000):
        if i and i % 750 == 0:
            gates[i // 750 - 1].set()
        content = hostile(rng)
        widget.message = ""
        shown.clear()
        try:
            browser.say(content)
        except Exception as exc:  # noqa: BLE001
            escaped.append(f"{type(exc).__name__} for {content!r:.80}")
        if not any(shown):
            silent.append(f"{content!r:.80}")
    assert escaped == [], f"{len(escaped)} escaped, e.g. {escaped[:3]}"
    assert silent == [], f"{len(silent)} refused without a message, e.g. {silent[:3]}"
    for gate in gates:
        gate.set()
    assert run.wait(30)
    wait_for(lambda: widget.status == "finished")
    assert run.status is RunStatus.FINISHED and run.guidance == [5.0] * 12
    assert browser.steps(run.id) == list(range(12))
    browser.say({"type": "guidance", "value": 3.0})
    assert widget.message == "", "a successful action must clear the last refusal"
    browser.say({"type": "launch_missiles"})
    assert widget.message
    again = browser_run(widget, browser, steps=2)
    assert widget.message == "" and again.status is RunStatus.FINISHED


def test_numpy_integers_are_steps_and_huge_guidance_is_a_plain_value_error(runner):
    """Guards against numpy ints refused as steps, and 10**400 leaking OverflowError or the text
    of Python's int-to-string limit."""
    run = runner.start("a red star", num_inference_steps=np.int64(3), seed=np.int64(1))
    assert run.wait(30) and run.status is RunStatus.FINISHED and len(run.steps) == 3
    assert type(run.params["num_inference_steps"]) is int and run.params["seed"] == 1
    for bad in ({"guidance_scale": 10**400}, {"guidance_schedule": [10**400] * 3}, {"num_inference_steps": 10**5000}):
        with pytest.raises(ValueError) as info:
            runner.start("a red star", **{"num_inference_steps": 3, **bad})
        assert type(info.value) is ValueError and "4300" not in str(info.value) and "limit (" not in str(info.value)
    assert runner.run is run


def together(*calls):
    """Each call on a thread of its own, released at once by a barrier; returns when all are done."""
    barrier = threading.Barrier(len(calls))
    threads = [threading.Thread(target=lambda call=call: (barrier.wait(5), call())) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def storm(run, seed, stop_weight, errors):
    rng = random.Random(seed)
    try:
        for _ in range(300):
            time.sleep(rng.random() / 1000)  # spread over the run's steps rather than all before one
            action = rng.choices(["pause", "resume", "stop", "guidance"], weights=[33, 33, stop_weight, 33])[0]
            if action != "guidance":
                getattr(run, action)()
                continue
            value = rng.choice([0.0, 1.0, 3.5, 7.5, 100.0, -1.0, float("nan"), "7", 10**400])
            try:
                assert run.set_guidance(value) == value
            except (TypeError, ValueError):
                assert not (isinstance(value, float) and 0 <= value <= 100)
    except Exception as exc:  # noqa: BLE001
        errors.append(repr(exc))


def test_a_storm_of_controls_from_four_threads_never_wedges_a_run(sd_pipe):
    """Guards against control races that hang a run, leave it paused, lose a wake-up, apply a
    refused guidance or keep the runner busy. A gate at step 20 keeps the run going until the
    storm is over. Odd rounds let the storm stop the run; in even ones the test then checks that
    resume wakes the run, that pause holds it and that stop ends it from there."""
    runner, gate = Runner(sd_pipe), {}
    at_step(runner, 20, lambda run: gate["open"].wait(30))
    for round_ in range(10):
        gate["open"], errors = threading.Event(), []
        run = runner.start("a red star", num_inference_steps=30, seed=round_)
        wait_for(lambda: run.steps)  # noqa: B023
        together(*(lambda i=i: storm(run, 4 * round_ + i, round_ % 2, errors) for i in range(4)))  # noqa: B023
        assert errors == []
        if round_ % 2 == 0:
            run.resume()
            wait_for(lambda: len(run.steps) == 21, 10)  # noqa: B023 - held by the gate, not by a lost wake-up
            run.pause()
            gate["open"].set()
            wait_for(lambda: run.status is RunStatus.PAUSED, 10)  # noqa: B023
        gate["open"].set()
        run.stop()
        assert run.wait(timeout=30), f"round {round_}: {run!r} never ended"
        assert run.status is RunStatus.STOPPED and set(run.guidance) <= {0.0, 1.0, 3.5, 7.5, 100.0}
    assert runner.generate("a red star", num_inference_steps=2).status is RunStatus.FINISHED


def test_pause_and_stop_racing_at_a_pause_always_end_the_run(sd_pipe):
    """Guards against a pause landing after a stop and leaving the run paused for ever."""
    runner = Runner(sd_pipe)
    at_step(runner, 1, lambda run: run.pause())
    for i in range(50):
        run = runner.start("a red star", num_inference_steps=30, seed=i)
        if i % 2:  # half race the run's own pause, half come once it holds
            wait_for(lambda: run.status is RunStatus.PAUSED)  # noqa: B023
        together(run.pause, run.stop)
        assert run.wait(10), f"run {i} was left {run.status.value}"
        assert run.status is RunStatus.STOPPED


def test_two_hundred_runs_leak_no_thread_and_no_run(sd_pipe):
    """Guards against sender or run threads, and runs, that outlive their use."""
    widget = SamplerWidget(Runner(sd_pipe, history=4), pace=0)
    browser = Browser(widget)
    for i in range(200):
        run = browser_run(widget, browser, prompt="a soak", steps=2, seed=i)
        assert run.status is RunStatus.FINISHED and browser.steps(run.id) == [0, 1]
        browser.messages.clear()
        if i == 9:
            early = threading.active_count()
    del run
    time.sleep(0.2)
    assert threading.active_count() <= early + 2
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, Run) and o.params.get("prompt") == "a soak"]
    assert len(alive) <= 4 + 2


@contextmanager
def unet_from_call(pipe, index, change):
    """The UNet's output goes through ``change`` from its ``index``-th call (0-based; one a step)."""
    unet, calls = pipe.unet, itertools.count()
    original = unet.forward

    def forward(*args, **kwargs):
        late = next(calls) >= index
        out = original(*args, **kwargs)
        return change(out) if late else out

    unet.forward = forward
    try:
        yield
    finally:
        del unet.forward  # the class's forward again


def explode(out):
    raise RuntimeError("unet exploded")


def test_a_unet_error_fails_the_run_and_frees_the_runner(runner, sd_pipe):
    """Guards against a model error hanging the run or leaving the runner busy."""
    with unet_from_call(sd_pipe, 2, explode):
        run = runner.generate("a red star", num_inference_steps=6, seed=1)
    assert run.status is RunStatus.FAILED and "unet exploded" in str(run.error) and len(run.steps) == 2
    assert runner.generate("a red star", num_inference_steps=2).status is RunStatus.FINISHED


def test_an_observer_error_is_kept_and_the_run_finishes(runner):
    """Guards against a buggy observer killing the run or vanishing without a trace."""
    runner.observe(lambda e: 1 / 0 if isinstance(e, StepEvent) and e.step == 1 else None)
    run = runner.generate("a red star", num_inference_steps=4, seed=1)
    assert run.status is RunStatus.FINISHED and len(run.steps) == 4
    assert "Traceback" in runner.observer_error and "ZeroDivisionError" in runner.observer_error


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3), asyncio.CancelledError()], ids=type)
def test_a_base_exception_from_a_callback_ends_the_run(runner, exc):
    """Guards against a BaseException killing the run's thread with the status left 'running',
    so that the runner refuses every later start."""
    run = runner.start("a red star", num_inference_steps=6, seed=1, callbacks=[Raising(exc)])
    assert run.wait(5)
    allowed = {RunStatus.FAILED, RunStatus.STOPPED} if isinstance(exc, KeyboardInterrupt) else {RunStatus.FAILED}
    assert run.status in allowed
    assert runner.generate("a red star", num_inference_steps=2).status is RunStatus.FINISHED


def test_a_failing_send_is_reported_and_sending_recovers(sd_pipe):
    """Guards against the frame sender's thread dying at the first OSError: frames lost and the
    status stuck on running, with nothing said."""
    widget = SamplerWidget(sd_pipe, pace=0)
    browser, seen = Browser(widget, failures=3), []
    widget.observe(lambda change: seen.append(change["new"]), "message")
    run = browser_run(widget, browser, steps=8)
    assert run.status is RunStatus.FINISHED and widget.status == "finished"
    assert any("comm closed" in text for text in seen), seen
    assert browser.steps(run.id) == list(range(8))


def test_nan_from_the_unet_fails_the_run_at_the_step_it_appeared(runner, sd_pipe):
    """Guards against NaN latents finishing as a black image. The error names step 3 (1-based:
    the UNet's third call, step index 2) and NaN; the steps before it are kept."""
    with unet_from_call(sd_pipe, 2, lambda out: (out[0].fill_(float("nan")), out)[1]):
        run = runner.generate("a red star", num_inference_steps=6, seed=1)
    assert run.status is RunStatus.FAILED, run
    assert re.search(r"\bstep 3\b", str(run.error)) and "nan" in str(run.error).lower(), str(run.error)
    assert len(run.steps) >= 2 and all(np.isfinite(s.frame.numpy()).all() for s in run.steps[:2])


def use_and_close(pipe_or_runner, seed):
    widget = SamplerWidget(pipe_or_runner, pace=0)
    assert browser_run(widget, Browser(widget), steps=2, seed=seed).status is RunStatus.FINISHED
    widget.close()
    return weakref.ref(widget)


def test_closed_widgets_are_freed_with_their_threads(sd_pipe):
    """Guards against closed widgets kept alive by a runner they observed (the last two share
    one), a sender thread or a registry."""
    shared = Runner(sd_pipe)
    shared.generate("a red star", num_inference_steps=1)  # starts tqdm's monitor thread, which lives on
    before = set(threading.enumerate())
    refs = [use_and_close(sd_pipe if seed < 5 else shared, seed) for seed in range(7)]
    started = [thread for thread in threading.enumerate() if thread not in before]
    for thread in started:
        thread.join(5)
    assert [thread.name for thread in started if thread.is_alive()] == []
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * 7


def test_a_script_that_never_waits_for_its_run_exits_cleanly():
    """A run's thread still inside torch at interpreter exit aborted the process (exit 134,
    "terminate called without an active exception"): the run is stopped and joined first."""
    script = (
        "import time\n"
        "from sdwidget import Runner\n"
        "from sdwidget.testing import tiny_sd_pipeline\n"
        "run = Runner(tiny_sd_pipeline()).start('a red star', num_inference_steps=500)\n"
        "time.sleep(0.5)\n"
        "print('steps', len(run.steps))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split("steps")[-1]) < 500, "the run was still going when the script ended"
