"""Before a sweep renders: every input checked into a plan, processes compared, the model loaded.

Split from ``job`` so that the order of a run reads there in one screen. Each step runs in
every process inside ``group.agree``, so a refusal anywhere stops all with its reason.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ..core import Runner, validate
from . import extras, images
from . import group as groups
from .environment import changes, environment
from .folder import SweepFolder
from .inputs import SweepError, parse_seeds, read_prompts
from .model import is_pipeline, load, locate, use_recorded_scheduler
from .plan import SweepPlan
from .source import load_source
from .weights import resolve_dtype


def alike(group: groups.Group, plan: SweepPlan) -> None:
    """Every process would draw an item alike (device type, threads, versions): one sweep must
    not mix images of two GPU types. Gathers in every process before any may raise."""
    setting = plan.environment or {}
    theirs = [env for env in group.gather(setting) if env != setting]
    if theirs:
        raise SweepError(f"the processes of this launch differ: {'; '.join(changes(setting, theirs[0], 'another'))}")


def runner(model: Any, plan: SweepPlan, group: groups.Group, threads: int | None) -> Runner:
    try:
        pipe = pipeline(model, plan, group.device)
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        where = plan.model if not is_pipeline(model) else "the given pipeline"
        raise SweepError(f"the model {where} could not be loaded: {type(exc).__name__}: {str(exc)[:300]}") from None
    cpu_threads = threads if group.on_cpu else None
    return Runner(pipe, cpu_threads=cpu_threads, history=1, latent_budget=0, branch_budget=0)


def plan(
    source: Any,
    seeds: Any,
    out: Any,
    prompts: Any,
    steps: Any,
    model: Any,
    edits: Any,
    dtype: Any,
    threads: Any,
    group: groups.Group,
    variant: str | None = None,
    revision: str | None = None,
    batch: Any = 1,
) -> tuple[SweepPlan, SweepFolder]:
    """Every input checked, nothing loaded or written; ``SweepError`` otherwise."""
    recorded = load_source(source)
    seed_list = parse_seeds(seeds)
    prompt_list = read_prompts(prompts) or [recorded.params["prompt"]]
    try:
        steps = None if steps is None else validate.steps(steps, "steps")
        if threads is not None:
            validate.integer("threads", threads, 1, 1024)
        batch = validate.integer("batch", batch, 1, validate.MAX_BATCH)
    except (TypeError, ValueError) as exc:
        raise SweepError(str(exc)) from None
    if not isinstance(edits, bool):
        raise SweepError(f"prompt_edits must be True or False, got {type(edits).__name__}")
    if variant is not None and (not isinstance(variant, str) or not variant.isidentifier()):
        raise SweepError(f"variant must be a name such as fp16, got {str(variant)!r:.40}")
    dtype = resolve_dtype(dtype, recorded.params, model if is_pipeline(model) else None, variant)
    location = locate(model, recorded.params, variant, revision)
    images.check_pipeline(model, recorded.inputs, recorded.params.get("pipeline"))
    extras.check(recorded.params, model)  # a LoRA, a swapped VAE: refused before any load
    # A run made on a pipeline built in memory records no model: any pipeline given is as good.
    if model is not None and recorded.params.get("model") is not None and location != recorded.params["model"]:
        warnings.warn(f"sweeping on {location}; the run was recorded on {recorded.params.get('model')}", stacklevel=3)
    if batch > 1 and (isinstance(recorded.params["prompt"], list) or _per_prompt(recorded.params) > 1):
        raise SweepError("a batched sweep renders one image per seed; the run made several a call: sweep it unbatched")
    setting = environment(group.device, threads, group.on_cpu, dtype)
    planned = SweepPlan(
        recorded, prompt_list, seed_list, steps, edits, location, dtype, setting, variant, revision, batch
    )
    folder = SweepFolder(out)
    folder.check(planned.identity())
    return planned, folder


def _per_prompt(params: dict[str, Any]) -> Any:
    return (params.get("pipe_kwargs") or {}).get("num_images_per_prompt", 1)


def pipeline(model: Any, plan: SweepPlan, device: torch.device) -> Any:
    """A pipeline given by the caller is used as it is; one loaded here gets the recorded scheduler."""
    if is_pipeline(model):
        return model
    pipe = load(plan.model, device, plan.dtype, plan.variant, plan.revision, plan.source.params.get("pipeline"))
    use_recorded_scheduler(pipe, plan.source.params)
    extras.check_tokens(plan.source.params, pipe)  # a textual inversion's tokens, which only loading shows
    return pipe
