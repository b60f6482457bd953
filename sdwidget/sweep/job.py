"""``sweep()``: the whole job, in one process or in each of the K that ``accelerate launch`` starts.

Every process runs this same function on the same inputs. The order of a run, and why:

1. All check every input (source, seeds, prompts, model location, output folder) and raise
   before anything is loaded or written: identical inputs fail identically everywhere.
2. Barrier; the main process alone writes ``sweep.json`` and clears stale temp files.
3. All load the model, each onto its own device (``PartialState().device``).
4. Barrier; all list the items already done; barrier again before anyone writes, so every
   process sees the same list and splits the same pending items the same way
   (``split_between_processes``): each item has one owner, so no file has two writers.
5. Each renders its share, writing each item as it finishes (a resumed sweep skips it).
6. Barrier; the main process merges ``runs.jsonl`` and draws ``grid.png``; barrier.

Determinism: an item's noise comes from its own seed (a CPU generator, as the runner seeds
every run), and on the CPU each process computes on ``threads`` threads (default 1) whatever
the number of processes, so a K-process sweep gives the bytes of a 1-process one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..core import Runner, validate
from .folder import SweepFolder
from .grid import write_grid
from .inputs import SweepError, parse_seeds, read_prompts
from .model import DTYPES, is_pipeline, load, locate, use_recorded_scheduler
from .plan import SweepPlan
from .progress import Progress, Reporter
from .render import render
from .source import load_source


def sweep(
    source: Any,
    *,
    seeds: Any,
    out: str | os.PathLike,
    prompts: Any = None,
    steps: int | None = None,
    model: Any = None,
    prompt_edits: bool = True,
    dtype: str = "float32",
    threads: int | None = 1,
    progress: bool = True,
    callback: Callable[[Progress], Any] | None = None,
) -> list[dict[str, Any]]:
    """Replay ``source``'s recorded guidance curve (and prompt edits) for every (prompt, seed)
    pair into ``out``; returns every item's record, in item order (prompt-major).

    ``source``: a ``Gallery``, ``Run``, gallery folder, ``run.json`` or sweep record. ``seeds``:
    ``"0:200"``, ``range(200)``, a list. ``prompts``: a list, or a ``pathlib.Path`` to a text
    file of one prompt a line (default: the recorded prompt). ``steps``: another step count (the
    curve is stretched). ``model``: a folder, hub id or pipeline (default: the one recorded).
    ``prompt_edits``: replay the recorded prompt edits on every prompt (else drop them).
    ``threads``: torch CPU threads per process (``None``: the runner's choice). ``progress``:
    a tqdm bar per process; ``callback(progress)`` after every item (``progress.line`` is text).
    Bad input raises ``SweepError`` before any work. Under ``accelerate launch`` every process
    calls this and renders its share of the items. An interrupted sweep, run again, resumes.
    """
    plan, folder = _plan(source, seeds, out, prompts, steps, model, prompt_edits, dtype, threads)
    from accelerate import PartialState

    on_cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true")
    state = PartialState(cpu=on_cpu)
    state.wait_for_everyone()
    if state.is_main_process:
        folder.claim(plan.identity())
    runner = Runner(_pipeline(model, plan, state.device), cpu_threads=threads if on_cpu else None, history=1,
                    latent_budget=0, branch_budget=0)  # fmt: skip
    state.wait_for_everyone()
    items = plan.items()
    done = folder.done(items)
    state.wait_for_everyone()
    with state.split_between_processes([item for item in items if item.index not in done]) as mine:
        mine = list(mine)
    worker = {"rank": state.process_index, "processes": state.num_processes, "device": str(state.device)}
    status = Progress(state.process_index, state.num_processes, len(mine), skipped=len(done))
    reporter = Reporter(status, progress, callback)
    try:
        for item in mine:
            rendered = render(runner, plan, item, worker)
            folder.write(item, rendered.png, rendered.record)
            reporter.item(failed=rendered.png is None)
    finally:
        reporter.close()
    state.wait_for_everyone()
    records = folder.collect(items)
    if state.is_main_process:
        folder.merge(records)
        write_grid(folder, records, len(plan.seeds))
    state.wait_for_everyone()
    return records


def _plan(
    source: Any, seeds: Any, out: Any, prompts: Any, steps: Any, model: Any, edits: Any, dtype: Any, threads: Any
) -> tuple[SweepPlan, SweepFolder]:
    """Every input checked, nothing loaded or written; ``SweepError`` otherwise."""
    recorded = load_source(source)
    seed_list = parse_seeds(seeds)
    prompt_list = read_prompts(prompts) or [recorded.params["prompt"]]
    try:
        steps = None if steps is None else validate.steps(steps, "steps")
        if threads is not None:
            validate.integer("threads", threads, 1, 1024)
    except (TypeError, ValueError) as exc:
        raise SweepError(str(exc)) from None
    if not isinstance(edits, bool):
        raise SweepError(f"prompt_edits must be True or False, got {type(edits).__name__}")
    dtype = next((name for name, value in DTYPES.items() if value == dtype), dtype)  # torch.float16 → "float16"
    if dtype not in DTYPES:
        raise SweepError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r:.40}")
    location = locate(model, recorded.params)
    if model is not None and location != recorded.params.get("model"):
        warnings.warn(f"sweeping on {location}; the run was recorded on {recorded.params.get('model')}", stacklevel=3)
    plan = SweepPlan(recorded, prompt_list, seed_list, steps, edits, location, dtype)
    folder = SweepFolder(out)
    folder.check(plan.identity())
    return plan, folder


def _pipeline(model: Any, plan: SweepPlan, device: torch.device) -> Any:
    """A pipeline given by the caller is used as it is; one loaded here gets the recorded scheduler."""
    if is_pipeline(model):
        return model
    pipe = load(plan.model, device, plan.dtype)
    use_recorded_scheduler(pipe, plan.source.params)
    return pipe
