"""The body of a run's thread: encode, call the pipeline with the step hook, record the outcome."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import torch
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback

from ._cfg import CfgSwitch
from ._encode import encode_prompts
from ._events import RunStatus
from ._hook import StepHook
from ._preview import Preview
from ._run import Run
from ._x0 import X0Tap


def execute(
    pipe,
    run: Run,
    preview: Preview,
    show_x0: bool,
    callbacks: list[PipelineCallback],
    pipe_kwargs: dict[str, Any],
    extra: tuple,
    on_image: Callable[[Run], None],
) -> None:
    """Never raises: a failure is kept in ``run.error``/``run.traceback`` and reported as status."""
    p = run.params
    try:
        run.emit(RunStatus.RUNNING)
        embeds, negatives = encode_prompts(pipe, p["prompt"], p["negative_prompt"])
        with X0Tap(pipe.scheduler) as tap:
            hook = StepHook(run.id, run.controls, CfgSwitch(pipe, negatives), preview, tap, show_x0, run.emit, *extra)
            out = pipe(
                **embeds, **pipe_kwargs, num_inference_steps=p["num_inference_steps"],
                guidance_scale=p["guidance_scale"], height=p["height"], width=p["width"],
                generator=torch.Generator("cpu").manual_seed(p["seed"]),
                callback_on_step_end=MultiPipelineCallbacks([hook, *callbacks]) if callbacks else hook,
            )  # fmt: skip
        run.image, run.latents = out.images[0], hook.final_latents
        on_image(run)
        stopped = run.controls.stopping and len(run.steps) < pipe.num_timesteps
        run.emit(RunStatus.STOPPED if stopped else RunStatus.FINISHED)
    except Exception as exc:
        run.error, run.traceback = exc, traceback.format_exc()
        run.emit(RunStatus.FAILED)
