"""``python -m sdwidget``: a short terminal demo of the runner on the offline tiny pipeline.

``python -m sdwidget check`` checks that steering is exact on the installed libraries
(``sdwidget.check``); ``python -m sdwidget sweep ...`` replays a run over seeds and prompts.

It pauses a run, changes guidance across 1.0 both ways and stops another run early, printing
what each step recorded. The printing happens here, in the main thread, from a queue the
runner's observer fills: the runner thread itself never prints.
"""

from __future__ import annotations

import queue
import sys

from .core import Runner, StatusEvent, StepEvent
from .testing import tiny_sd_pipeline


def main() -> None:
    runner = Runner(tiny_sd_pipeline())
    events: queue.Queue = queue.Queue()
    runner.observe(events.put)
    run = runner.start("a red star on a blue background", num_inference_steps=12, guidance_scale=6.0, seed=1)
    while True:
        event = events.get()
        if isinstance(event, StepEvent):
            cfg = "on " if event.cfg else "off"
            width, height = event.frame.size
            ms = 1000 * event.duration
            step = f"step {event.step + 1:2d}/{event.total}"
            print(f"{step}  guidance {event.guidance:4.1f}  cfg {cfg}  {ms:6.1f} ms  thumbnail {width}×{height}")
            if event.step == 2:
                runner.pause()
            elif event.step == 5:
                runner.set_guidance(0.8)
            elif event.step == 8:
                runner.set_guidance(7.5)
        elif isinstance(event, StatusEvent):
            print(f"-- {event.status.value}")
            if event.status.value == "paused":
                runner.set_guidance(4.0)
                runner.resume()
            if event.status.done:
                break
    run.wait()
    print(f"applied guidance per step: {run.guidance}")
    stopped = runner.start("a small yellow circle", num_inference_steps=20, seed=2)
    while not (isinstance(event := events.get(), StepEvent) and event.step == 3):
        pass
    runner.stop()
    stopped.wait()
    print(f"second run {stopped.status.value} after {len(stopped.steps)} of 20 steps; image {stopped.image.size}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["sweep"]:  # python -m sdwidget sweep ...: batch replays (sdwidget.sweep)
        from .sweep import main as sweep_main

        sys.exit(sweep_main(sys.argv[2:]))
    if sys.argv[1:2] == ["check"]:  # python -m sdwidget check: is steering exact on the installed versions?
        from .check import main as check_main

        sys.exit(check_main(sys.argv[2:]))
    main()
