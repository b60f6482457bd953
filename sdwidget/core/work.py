"""The body of a run's thread: encode, call the pipeline with the step hook, record the outcome."""

from __future__ import annotations

import contextlib
import traceback
from typing import Any

import torch
from diffusers.callbacks import MultiPipelineCallbacks

from ..preview import Preview
from .cfg import CfgSwitch
from .controls import PromptEdit
from .encode import encode_prompts
from .events import RunStatus
from .flow import call_arguments, denoiser, flux_steer
from .hook import StepHook
from .ip_adapter import IPAdapterEmbeds
from .latents import image_view
from .outputs import UnetTap
from .plan import RunPlan
from .run import Run
from .time_ids import negative_time_ids
from .weight import GuidanceWeight
from .x0 import X0Tap


def execute(pipe: Any, run: Run, plan: RunPlan, preview: Preview, show_x0: bool) -> None:
    """Never raises, whatever is raised inside (``KeyboardInterrupt``, ``SystemExit`` and
    ``CancelledError`` too): the run always reaches a final status, so the runner is free again.
    A failure is kept in ``run.error``/``run.traceback``; an interrupt ends the run as stopped.
    A finished run's own decode teaches the preview (``Preview.learn``)."""
    p = run.params
    try:
        run.emit(RunStatus.RUNNING)
        first = encode_prompts(pipe, p["prompt"], p["negative_prompt"], plan.pipe_kwargs)
        # Planned prompt changes are encoded now, so their step boundaries only swap tensors.
        planned = {
            change.step: PromptEdit(
                change.prompt,
                change.negative_prompt,
                encode_prompts(pipe, change.prompt, change.negative_prompt, plan.pipe_kwargs),
            )
            for change in plan.prompts
        }
        flux = flux_steer(pipe, first, plan.pipe_kwargs, p["negative_prompt"])
        with (
            X0Tap(pipe.scheduler) as tap,
            flux or contextlib.nullcontext(),  # inside UnetTap: a branch replays the outputs it combined
            UnetTap(denoiser(pipe), plan.outputs, plan.shared, calls_per_step=2 if flux else 1),
            GuidanceWeight(pipe),
            IPAdapterEmbeds(pipe, p, plan.pipe_kwargs) as ip,
        ):
            negatives = {**first.uncond, **negative_time_ids(pipe, p["height"], p["width"], plan.pipe_kwargs, first)}
            view = image_view(pipe, p["height"], p["width"])
            hook = StepHook(run, plan, flux or CfgSwitch(pipe, negatives), preview, tap, show_x0, planned, view)
            callback = MultiPipelineCallbacks([hook, *plan.callbacks]) if plan.callbacks else hook
            out = pipe(
                **call_arguments(pipe, first, ip.pipe_kwargs, p["prompt"]),
                num_inference_steps=p["num_inference_steps"], guidance_scale=p["guidance_scale"],
                height=p["height"], width=p["width"],
                generator=torch.Generator("cpu").manual_seed(p["seed"]),
                # FluxPipeline, unlike the others, does not read a PipelineCallback's tensor_inputs itself.
                callback_on_step_end=callback, callback_on_step_end_tensor_inputs=callback.tensor_inputs,
            )  # fmt: skip
            hook.finite.finish()
        run.images, run.latents = list(out.images), hook.final_latents
        run.image = run.images[0]
        if run.latents is not None:
            preview.learn(run.latents, run.image)
        stopped = run.controls.stopping and len(run.steps) < p["steps_run"]
        run.emit(RunStatus.STOPPED if stopped else RunStatus.FINISHED)
    except BaseException as exc:  # noqa: BLE001 - a thread has no one above it to catch the rest
        run.error, run.traceback = exc, traceback.format_exc()
        run.emit(RunStatus.STOPPED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED)
