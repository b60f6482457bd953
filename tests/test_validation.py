"""Bad input is refused in the caller's thread, with a message that says what to change."""

import math
import threading

import pytest

from sdwidget import Runner

GOOD = {"prompt": "a red star", "num_inference_steps": 4, "guidance_scale": 5.0, "seed": 1, "height": 64, "width": 64}

BAD = [
    ("guidance_scale", "7", TypeError, "guidance must be a number"),
    ("guidance_scale", True, TypeError, "guidance must be a number"),
    ("guidance_scale", math.nan, ValueError, "finite"),
    ("guidance_scale", math.inf, ValueError, "finite"),
    ("guidance_scale", -1.0, ValueError, "between 0 and 100"),
    ("guidance_scale", 1e308, ValueError, "between 0 and 100"),
    ("num_inference_steps", 0, ValueError, "between 1 and 1000"),
    ("num_inference_steps", -5, ValueError, "between 1 and 1000"),
    ("num_inference_steps", 10**9, ValueError, "between 1 and 1000"),
    ("num_inference_steps", 4.0, TypeError, "integer"),
    ("height", 100, ValueError, "multiple of 8, got 100; try 96 or 104"),
    ("width", 0, ValueError, "between 8"),
    ("width", "64", TypeError, "integer"),
    ("seed", -1, ValueError, "seed"),
    ("prompt", 42, TypeError, "prompt must be a string"),
    ("prompt", None, TypeError, "prompt must be a string"),
    ("prompt", "x" * 5000, ValueError, "limit is 4000"),
    ("negative_prompt", ["a"], TypeError, "negative_prompt must be a string"),
]


@pytest.mark.parametrize(("name", "value", "error", "message"), BAD, ids=[f"{b[0]}={b[1]!r:.12}" for b in BAD])
def test_bad_start_arguments_raise_before_any_thread(sd_pipe, name, value, error, message):
    runner = Runner(sd_pipe)
    before = set(threading.enumerate())  # an earlier test's thread may end meanwhile: count new ones only
    with pytest.raises(error, match=message.replace("(", r"\(")):
        runner.start(**{**GOOD, name: value})
    assert runner.run is None and set(threading.enumerate()) - before == set()


@pytest.mark.parametrize("value", ["high", math.nan, -0.5, 1e308, None])
def test_bad_guidance_mid_run_is_refused_and_the_run_goes_on(runner, value):
    run = runner.start(**{**GOOD, "num_inference_steps": 6})
    with pytest.raises((TypeError, ValueError)):
        runner.set_guidance(value)
    run.wait()
    assert run.status.value == "finished" and run.guidance == [5.0] * 6


def test_unknown_or_owned_pipeline_arguments_are_refused(runner):
    with pytest.raises(TypeError, match="'callback_on_step_end' cannot be passed"):
        runner.start(**GOOD, callback_on_step_end=print)
    with pytest.raises(TypeError, match="'not_an_arg' cannot be passed"):
        runner.start(**GOOD, not_an_arg=1)
    with pytest.raises(TypeError, match="PipelineCallback"):
        runner.start(**GOOD, callbacks=[print])
    run = runner.generate(**GOOD, guidance_rescale=0.7)
    assert run.status.value == "finished"


def test_pipeline_without_step_callbacks_is_refused():
    class OldPipeline:
        def __call__(self, prompt, callback=None, callback_steps=1):
            return None

    with pytest.raises(TypeError, match="no callback_on_step_end"):
        Runner(OldPipeline())


def test_bad_runner_options(sd_pipe):
    with pytest.raises(ValueError, match="show must be"):
        Runner(sd_pipe, show="vae")
    with pytest.raises(TypeError, match="preview must be a sdwidget Preview or a diffusers AutoencoderTiny"):
        Runner(sd_pipe, preview="x0")
    with pytest.raises(ValueError, match="thumbnail_size"):
        Runner(sd_pipe, thumbnail_size=4)
