"""Step frames drawn later in a run hosted on the kernel's loop (``Runner.on_kernel``): the loop
reads frames while the run is held, a thread reads them as they come, the run's end draws the rest;
each equals its step's eager frame and the same run on a thread."""

import queue
import threading

import numpy as np
from test_frames_hostile import Counting, assert_eager, undrawn
from test_loop_hostile import hosted, on_loop, until, watchdog  # noqa: F401 - the watchdog is a fixture

from sdwidget import Runner, RunStatus, StepEvent


def test_a_hosted_run_read_by_the_loop_while_held_and_by_a_thread_draws_each_frame_once(sd_pipe):
    preview = Counting()
    runner = Runner(sd_pipe, preview=preview)
    events: queue.SimpleQueue = queue.SimpleQueue()
    runner.observe(lambda event: isinstance(event, StepEvent) and event.step % 2 == 1 and events.put(event.frame))
    seen: list[np.ndarray] = []

    def read() -> None:  # the odd steps, as the widget's sender would
        for _ in range(3):
            seen.append(events.get(timeout=60).numpy().copy())

    reader = threading.Thread(target=read, name="reader")
    reader.start()

    async def body():
        run = hosted(runner, pause_at=[4], steps=6, seed=3, height=64, width=64, keep_latents=True)
        await until(lambda: run.status is RunStatus.PAUSED)
        held = [frame.numpy().copy() for frame in run.frames]  # drawn here, on the loop
        run.resume()
        await until(lambda: run.done)
        return run, held

    run, held = on_loop(body)
    reader.join(60)
    assert run.status is RunStatus.FINISHED and len(held) == 4 and len(seen) == 3
    assert undrawn(run) == [] and len(preview.threads) == 6 + 1, "each frame drawn once, and learn's measure"
    assert_eager(preview, run)
    for step, frame in enumerate(held):
        assert np.array_equal(frame, run.frames[step].numpy())
    for step, frame in zip((1, 3, 5), seen, strict=True):
        assert np.array_equal(frame, run.frames[step].numpy())
    threaded = runner.generate("a red star", num_inference_steps=6, seed=3, height=64, width=64)
    for step in range(6):
        assert np.array_equal(threaded.frames[step].numpy(), run.frames[step].numpy()), f"step {step}"
