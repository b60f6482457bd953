"""A prompt edit from the page, with a slow text encoder (the large language models of Qwen-Image,
Flux.2 and Z-Image take seconds): the kernel answers with the encode time it measured, which the
page shows; a failure to encode is answered too and said in words, and the run goes on."""

import time

import numpy as np
import pytest
import torch
from test_widget import GENERATE, Browser, wait_for

from sdwidget import RunStatus, SamplerWidget

SLEEP = 0.4


def held(pipe, at=3):
    widget = SamplerWidget(pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "breakpoints", "steps": [at]})
    browser.say({**GENERATE, "steps": 6})
    run = widget.runner.run
    wait_for(lambda: run.status is RunStatus.PAUSED and len(run.steps) == at)
    return widget, browser, run


def replies(browser):
    return [msg for msg, _ in browser.messages if msg["type"] == "prompt_encoded"]


def test_a_slow_encode_is_measured_and_reported_and_the_edit_applies_at_the_next_step(sd_pipe, monkeypatch):
    widget, browser, run = held(sd_pipe)
    family, encode = widget.runner.family, widget.runner.family.encode
    calls = []

    def slow(*args):
        calls.append(time.perf_counter())
        time.sleep(SLEEP)
        return encode(*args)

    monkeypatch.setattr(family, "encode", slow)
    started = time.perf_counter()
    browser.say({"type": "prompt", "prompt": "a blue ring", "negative_prompt": "blur"})
    elapsed = time.perf_counter() - started
    (reply,) = replies(browser)
    assert set(reply) == {"type", "seconds"} and len(calls) == 1
    assert SLEEP <= reply["seconds"] <= elapsed, "the time measured around the encode, sleep included"
    assert widget.message == ""
    browser.say({"type": "resume"})
    run.wait()
    assert run.prompts == [{"step": 3, "prompt": "a blue ring", "negative_prompt": "blur"}]
    # The slow encode's result is what the run used: the same edit, encoded at full speed, gives the same image.
    monkeypatch.setattr(family, "encode", encode)
    again, other, twin = held(sd_pipe)
    other.say({"type": "prompt", "prompt": "a blue ring", "negative_prompt": "blur"})
    other.say({"type": "resume"})
    twin.wait()
    assert np.array_equal(np.asarray(run.image), np.asarray(twin.image))
    assert replies(other)[0]["seconds"] < SLEEP


class EncoderDied(Exception):
    pass


def test_an_encode_failure_is_answered_and_said_in_words_and_the_run_goes_on(sd_pipe, monkeypatch):
    widget, browser, run = held(sd_pipe)

    def broken(*args):
        time.sleep(0.05)
        raise EncoderDied("CUDA out of memory in the text encoder")

    monkeypatch.setattr(widget.runner.family, "encode", broken)
    browser.say({"type": "prompt", "prompt": "a blue ring"})
    assert replies(browser) == [{"type": "prompt_encoded", "error": True}]
    assert widget.message == (
        "Apply prompt: encoding the new prompt failed: EncoderDied: CUDA out of memory in the text encoder"
    )
    browser.say({"type": "resume"})
    run.wait()
    assert run.status is RunStatus.FINISHED and run.prompts == [], "nothing applied; the run went on"


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"type": "prompt", "prompt": ["a red star", "a blue ring"]}, "Prompt"),  # the page sends text
        ({"type": "prompt", "prompt": "x" * 100_000}, "Prompt"),  # refused before it reaches the runner
        ({"type": "prompt", "prompt": "a blue ring", "negative_prompt": 3}, "Negative prompt"),
    ],
)
def test_a_refused_edit_is_answered_so_the_page_stops_counting(sd_pipe, message, words):
    widget, browser, run = held(sd_pipe)
    browser.say(message)
    assert replies(browser) == [{"type": "prompt_encoded", "error": True}]
    assert widget.message.startswith(words), widget.message
    browser.say({"type": "resume"})
    run.wait()
    assert run.prompts == []


def test_an_edit_with_no_run_going_is_answered_and_refused(sd_pipe):
    widget = SamplerWidget(sd_pipe, pace=0)
    browser = Browser(widget)
    browser.say({"type": "prompt", "prompt": "a blue ring"})
    assert replies(browser) == [{"type": "prompt_encoded", "error": True}]
    assert widget.message.startswith("Apply prompt: no run is going"), widget.message


def test_torchs_own_runtime_error_is_said_under_the_control(sd_pipe, monkeypatch):
    widget, browser, run = held(sd_pipe)

    def out_of_memory(*args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(widget.runner.family, "encode", out_of_memory)
    browser.say({"type": "prompt", "prompt": "a blue ring"})
    assert replies(browser) == [{"type": "prompt_encoded", "error": True}]
    assert widget.message == "Apply prompt: CUDA out of memory. Tried to allocate 2.00 GiB"
    browser.say({"type": "resume"})
    run.wait()
    assert run.status is RunStatus.FINISHED and run.prompts == []
