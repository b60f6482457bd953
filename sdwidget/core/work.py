"""The body of a run's thread: encode, call the pipeline with the step hook, record the outcome."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from functools import partial

import torch
from diffusers.callbacks import MultiPipelineCallbacks

from ..families import Family, Steering
from ..preview import Preview
from ..preview.frame import draw_later
from .controls import PromptEdit
from .events import RunStatus
from .hook import StepHook
from .lens import LensRecord
from .outputs import UnetTap
from .paid_lens import PaidLens
from .peek import PeekHold
from .plan import RunPlan
from .run import Run
from .run_lens import RunLens
from .x0 import StepInput, X0Tap


def lens(
    family: Family, run: Run, plan: RunPlan, steering: Steering, preview: Preview,
    view: Callable[[torch.Tensor], torch.Tensor], tap_x0: X0Tap, taps: list[UnetTap],
) -> PeekHold | None:  # fmt: skip
    """Give ``run`` its guidance lens: record each step's scheduler input, and hold a peeked step
    (where guidance is a model input, the paid lens's: the output tap keeps a held step's calls
    made again at the value applied)."""
    guidance = family.knobs()[0]
    parts, no_lens = steering.parts, steering.no_lens
    if guidance.off_at is None:
        parts, no_lens = None, f"{guidance.name} is an input the model was trained with, not a weight of two halves"
    last = (lambda: taps[-1].last) if taps else (lambda: None)
    record = LensRecord(
        parts, no_lens, family.pipe.scheduler, plan.outputs, last, preview, view, steering.recall, steering.other_half
    )
    names = [knob.name for knob in plan.knobs]
    hold = partial(PeekHold, run.controls, run.emit, parts, steering.switch, family.pipe, names, guidance.off_at or 0.0)
    peek, paid = None, None
    if parts is None and steering.recall is not None:  # guidance a model input: a paid lens, and its peek
        paid = PaidLens(record, steering.recall, lambda step, calls: taps[-1].redo(step, calls))
        peek = hold(paid) if getattr(family.pipe.scheduler, "order", 1) == 1 else None
    elif parts is not None and record.refusal is None:
        peek = hold()

    def before(given: StepInput, model_output: torch.Tensor) -> torch.Tensor:
        step = record.record(given)
        return model_output if peek is None else peek.hold(step, given, model_output, lambda: record.kept(step, step))

    tap_x0.before = before
    run._lens = RunLens(run, record, peek, paid, steering.switch, family.pipe, run._decode, guidance.off_at or 0.0)
    return peek


def generators(seed: int | list[int]) -> torch.Generator | list[torch.Generator]:
    """The run's noise: one CPU generator, or one per image for a list of seeds (a batch whose
    every image is the one its seed names in that batch)."""
    if isinstance(seed, list):
        return [torch.Generator("cpu").manual_seed(s) for s in seed]
    return torch.Generator("cpu").manual_seed(seed)


def execute(family: Family, run: Run, plan: RunPlan, preview: Preview, show_x0: bool) -> None:
    """Never raises, whatever is raised inside (``KeyboardInterrupt``, ``SystemExit`` and
    ``CancelledError`` too): the run always reaches a final status, so the runner is free again.
    A failure is kept in ``run.error``/``run.traceback``; an interrupt ends the run as stopped.
    A finished run's own decode teaches the preview (``Preview.learn``)."""
    p, pipe = run.params, family.pipe
    try:
        run.emit(RunStatus.RUNNING)
        first = family.encode(p["prompt"], p["negative_prompt"], plan.pipe_kwargs)
        # Planned prompt changes are encoded now, so their step boundaries only swap tensors.
        planned = {
            change.step: PromptEdit(
                change.prompt,
                change.negative_prompt,
                family.encode(change.prompt, change.negative_prompt, plan.pipe_kwargs),
            )
            for change in plan.prompts
        }

        taps: list[UnetTap] = []

        def tap(calls_per_step: int) -> UnetTap:
            taps.append(UnetTap(family.denoiser, plan.outputs, plan.shared, calls_per_step))
            return taps[-1]

        with X0Tap(pipe.scheduler) as tap_x0, family.steer(p, plan.pipe_kwargs, first, tap) as steering:
            view = family.image_view(p["height"], p["width"])
            peek = lens(family, run, plan, steering, preview, view, tap_x0, taps)
            hook = StepHook(run, plan, steering.switch, preview, tap_x0, show_x0, planned, view, family.dropped, peek)
            callback = MultiPipelineCallbacks([hook, *plan.callbacks]) if plan.callbacks else hook
            common = dict(
                num_inference_steps=p["num_inference_steps"], guidance_scale=p["guidance_scale"],
                height=p["height"], width=p["width"],
                generator=generators(p["seed"]),
                # Some pipelines do not read a PipelineCallback's tensor_inputs themselves.
                callback_on_step_end=callback, callback_on_step_end_tensor_inputs=callback.tensor_inputs,
            )  # fmt: skip
            if steering.invoke is not None:
                images = steering.invoke(**steering.call, **common)
            else:
                images = pipe(**steering.call, **common).images
            hook.finite.finish()
        run.images, run.latents = list(images), hook.final_latents
        run.image = run.images[0]
        draw_later(run.frames, len(plan.shared))  # before the preview learns (a refit)
        if run.latents is not None:
            preview.learn(run.latents, run.image)
        stopped = run.controls.stopping and len(run.steps) < p["steps_run"]
        run.emit(RunStatus.STOPPED if stopped else RunStatus.FINISHED)
    except BaseException as exc:  # noqa: BLE001 - a thread has no one above it to catch the rest
        run.error, run.traceback = exc, traceback.format_exc()
        with contextlib.suppress(Exception):  # the run's own failure is the one to report
            draw_later(run.frames, len(plan.shared))
        run.emit(RunStatus.STOPPED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED)
