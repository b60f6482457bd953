"""A widget click lands at the next step boundary, however long a step takes.

A real kernel (jupyter_client) hosts a widget whose UNet sleeps 0.5 s a step, as a GPU step of
SDXL or any real model on a CPU takes; the test sends the browser's own comm messages (Generate,
then Pause) and counts the steps that ran after the Pause was sent.
"""

from __future__ import annotations

import time

from test_kernel_loop import cell

STEP_SECONDS = 0.5
SETUP = f"""
import json, time
from sdwidget import SamplerWidget
from sdwidget.testing import tiny_sd_pipeline
pipe = tiny_sd_pipeline()
slow = pipe.unet.forward
def sleepy(*args, **kwargs):
    time.sleep({STEP_SECONDS})
    return slow(*args, **kwargs)
pipe.unet.forward = sleepy
widget = SamplerWidget(pipe)
events = []
widget.runner.observe(lambda e: events.append((time.time(), getattr(e, "step", None), getattr(e, "status", None))))
print(json.dumps({{"comm": widget.comm.comm_id}}))
"""


def send(client, comm: str, content: dict) -> None:
    """What the browser sends: a custom message on the widget's comm."""
    data = {"method": "custom", "content": content}
    client.shell_channel.send(client.session.msg("comm_msg", {"comm_id": comm, "data": data}))


def landed(client, asked: float, status: str) -> tuple[int, float]:
    """(steps that ran after the click at ``asked``, seconds from it to ``status``)."""
    seen = cell(client, "print(json.dumps([[t, s, getattr(u, 'value', None)] for t, s, u in events]))")
    after = [step for at, step, kind in seen if at > asked and kind is None]  # step events carry no status
    reached = [at for at, step, kind in seen if kind == status and at > asked]
    assert reached, f"never {status}: {[(round(t - asked, 3), s, u) for t, s, u in seen]}"
    return len(after), reached[0] - asked


def test_pause_and_stop_take_effect_at_the_next_step_boundary(kernel):
    comm = cell(kernel, SETUP)["comm"]
    send(kernel, comm, {"type": "generate", "prompt": "a red star", "steps": 16, "seed": 1, "guidance": 5.0})
    time.sleep(2.2 * STEP_SECONDS + 1.0)  # a few steps in (the first pays for starting up)
    asked = time.time()
    send(kernel, comm, {"type": "pause"})
    time.sleep(4 * STEP_SECONDS)
    steps, latency = landed(kernel, asked, "paused")
    print(f"pause: {steps} step(s) ran after the click, held {1000 * latency:.0f} ms after it")
    assert steps <= 1, f"the click landed {steps} steps late"  # the step under way when it came
    assert latency < STEP_SECONDS + 0.3
    send(kernel, comm, {"type": "resume"})
    time.sleep(2.5 * STEP_SECONDS)
    asked = time.time()
    send(kernel, comm, {"type": "stop"})
    time.sleep(4 * STEP_SECONDS)
    steps, latency = landed(kernel, asked, "stopped")
    print(f"stop: {steps} step(s) ran after the click, stopped {1000 * latency:.0f} ms after it")
    assert steps <= 1, f"the click landed {steps} steps late"
    assert latency < STEP_SECONDS + 0.3
