"""A branch's arguments: the parent's curve and prompts up to the branch step, the changes after."""

from __future__ import annotations

from typing import Any

import torch

from . import knobs, validate
from .run import Run
from .schedule import resolve

CHANGES = {"guidance_scale", "guidance_schedule", "prompt", "negative_prompt"} | {
    "pace",
    "pause_at",
    "keep_latents",
    "stop_after",
}


def branch_kwargs(
    run: Run, step: Any, changes: dict[str, Any], budget: int
) -> tuple[dict[str, Any], list[torch.Tensor]]:
    """(``prepare`` keyword arguments, the parent's UNet outputs for the shared steps)."""
    later = run.plan.knobs
    takes = CHANGES | {"knob_schedules"} | {knob.name for knob in later}
    unknown = set(changes) - takes
    if unknown:
        raise TypeError(f"branch() takes {', '.join(sorted(takes))}; not {', '.join(sorted(unknown))}")
    step = validate.integer("step", step, 0, len(run.steps))
    if step > run.branchable:
        raise ValueError(
            f"{run!r} can be branched from its first {run.branchable} steps only: it kept the UNet outputs of "
            f"those within its branch budget ({budget >> 20} MiB); raise Runner(branch_budget=...) to go further"
        )
    p, total = run.params, run.params["num_inference_steps"]
    length = p.get("steps_run", total)  # the curve has a value per step run (img2img runs fewer)
    before = run.guidance[:step]
    if "guidance_schedule" in changes:
        schedule = changes["guidance_schedule"]
        after = (
            resolve(lambda i: schedule(step + i), length - step)
            if callable(schedule)
            else resolve(schedule, length - step)
        )
    else:
        held = before[-1] if before else p["guidance_scale"]
        after = [validate.guidance(changes.get("guidance_scale", held))] * (length - step)
    prompts = [change for change in run.prompts if change["step"] < step]
    first_prompt, first_negative = p["prompt"], p["negative_prompt"]
    if "prompt" in changes or "negative_prompt" in changes:
        current = prompts[-1] if prompts else {"prompt": p["prompt"]}
        change = {
            "step": step,
            "prompt": changes.get("prompt", current["prompt"]),
            "negative_prompt": changes.get("negative_prompt"),
        }
        if step == 0:  # one string is every row's prompt, as at any later step
            rows = len(p["prompt"]) if isinstance(p["prompt"], list) else None
            first_prompt, first_negative = (
                [value] * rows if rows and isinstance(value, str) else value
                for value in (change["prompt"], changes.get("negative_prompt", first_negative))
            )
        else:
            prompts.append(change)
    kwargs = {
        "prompt": first_prompt, "negative_prompt": first_negative, "num_inference_steps": total,
        "guidance_scale": (before + after)[0], "seed": p["seed"], "height": p["height"], "width": p["width"],
        "guidance_schedule": before + after, "prompt_schedule": prompts,
        "knob_schedules": knobs.branched(later, run.knob_curves, step, length, changes, run.plan.pipe_kwargs),
        "keep_latents": changes.get("keep_latents", False), "stop_after": changes.get("stop_after"),
        "pause_at": changes.get("pause_at", ()), "pace": changes.get("pace"),
    }  # fmt: skip
    return kwargs, run.shared_outputs(step)
