"""One pipeline call of a sweep: the recorded run replayed with an item's prompt and seed (or a
batch's seeds), and each item's files.

The replay goes through ``Runner.replay``, the same path as replaying a gallery by hand, so the
per-step guidance and the prompt edits land exactly where the recorded run had them (stretched
by progress under ``--steps``); ``item_source`` is that replay's source, for a replay by hand.
A batched sweep's item is row ``row`` of its batch's run, whose params hold the batch's seeds:
its record replays the batch, not the seed alone (a batch's rows are not bit-equal to single runs).
The PNG holds no timings, so the same item gives the same bytes
in a 1-process and a K-process sweep; timings go to the record.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import PngImagePlugin

from ..core import Run, Runner, validate
from ..gallery import Gallery, a1111_parameters
from . import images
from .plan import Item, SweepPlan
from .source import Source, load_source


@dataclass
class Rendered:
    """An item's outcome: its PNG (``None`` when the run failed) and its record."""

    png: bytes | None
    record: dict[str, Any]


def item_source(source: Any, *, prompt: str, seed: int | Sequence[int], prompt_edits: bool = True) -> Source:
    """The run a sweep item replays: ``source`` with its prompt and seed replaced and its recorded
    prompt edits kept (``prompt_edits=False``: dropped, as ``--drop-prompt-edits``). ``seed``: a
    list of seeds is a batched sweep's batch, one image per seed (``record["batch"]``).

    Why this exists: ``runner.replay(gallery, prompt=P, seed=S)`` treats a new prompt as a new
    prompt track and drops the recorded edits, while a sweep replays the edits on every prompt;
    ``runner.replay(item_source(gallery, prompt=P, seed=S))`` is the sweep's item, pixel for pixel
    (add ``num_inference_steps=N`` for a ``--steps N`` sweep)."""
    recorded = load_source(source)
    params = {**recorded.params, "prompt": validate.prompt("prompt", prompt), "seed": validate.seeds(seed)}
    if isinstance(params["seed"], list):
        params["pipe_kwargs"] = {**(params.get("pipe_kwargs") or {}), "num_images_per_prompt": len(params["seed"])}
    return dataclasses.replace(recorded, params=params, prompts=recorded.prompts if prompt_edits else [])


def render(runner: Runner, plan: SweepPlan, items: list[Item], worker: dict[str, Any]) -> list[Rendered]:
    """Replay the plan's source for ``items`` (one, or a batch of one prompt's seeds in one call) on
    ``runner``; ``worker`` (rank, device) goes into the timings. An unbatched sweep's item is a run
    of its one seed, as it always was."""
    # The recorded model is swapped for the pipeline's own name (as it has it: diffusers keeps a
    # Path), so that Runner.replay does not warn on every item (a --model sweep warned once).
    batch = [item.seed for item in items] if plan.batch > 1 else None
    seed = items[0].seed if batch is None else batch
    source = item_source(plan.source, prompt=items[0].prompt, seed=seed, prompt_edits=plan.prompt_edits)
    source = dataclasses.replace(source, params={**source.params, "model": str(runner.pipe.name_or_path or "") or None})
    overrides: dict[str, Any] = {} if plan.steps is None else {"num_inference_steps": plan.steps}
    started, clock = time.time(), time.perf_counter()
    run = runner.replay(source, pace=None, **overrides)
    try:
        run.wait()
    except BaseException:  # an interrupt: end this run before the sweep stops, so no thread lingers
        run.stop()
        run.wait()
        raise
    timings = {
        "seconds": time.perf_counter() - clock, "steps": [step.duration for step in run.steps], "started": started,
        "finished": time.time(), **worker,
    }  # fmt: skip
    return [_rendered(run, plan, item, row, batch, timings) for row, item in enumerate(items)]


def _rendered(
    run: Run, plan: SweepPlan, item: Item, row: int, batch: list[int] | None, timings: dict[str, Any]
) -> Rendered:
    """Row ``row``'s image and record; ``timings`` are the call's (a batch's time is all its items')."""
    image = run.images[row] if run.image is not None else None
    record = {
        "item": item.index, "name": item.name,
        "image": None if image is None else f"images/{item.name}.png",
        "prompt_index": item.prompt_index, "prompt": item.prompt, "seed": item.seed,
        **({} if batch is None else {"batch": batch, "row": row}), "dtype": plan.dtype,
        "negative_prompt": run.params["negative_prompt"], "status": run.status.value,
        "error": None if run.error is None else f"{type(run.error).__name__}: {run.error}",
        "guidance": run.guidance, "prompts": [dict(change) for change in run.prompts], "params": run.params,
        **({"knobs": run.knob_curves} if run.knob_curves else {}),
        **({"inputs": images.files(plan.source.inputs)} if plan.source.inputs else {}),  # in the sweep's folder
        "timings": timings,
    }  # fmt: skip
    return Rendered(None if image is None else _png(run, image, item, record), json.loads(json.dumps(record)))


_VERSIONS: dict[str, str] = {}


def _versions(run: Run) -> dict[str, str]:
    """The package versions a gallery records, looked up once per process (6 ms each time)."""
    if not _VERSIONS:
        _VERSIONS.update(Gallery.from_run(run).versions)
    return dict(_VERSIONS)


def _png(run: Run, image: Any, item: Item, record: dict[str, Any]) -> bytes:
    """The final image with three text chunks: ``sdwidget`` (the run in the gallery's format, as
    a gallery's final.png has it, numbered by item; a batch's run), ``sdwidget-sweep`` (the item's
    record without timings) and ``parameters`` (the text AUTOMATIC1111 and most image viewers show,
    with the item's own seed)."""
    gallery = Gallery(
        run_id=item.index + 1, params=record["params"], status=record["status"], steps=[], frames=[],
        error=record["error"], requests=[list(r) for r in run.requests], prompts=record["prompts"],
        versions=_versions(run),
    )  # fmt: skip
    info = PngImagePlugin.PngInfo()
    info.add_itxt("sdwidget", json.dumps({k: v for k, v in gallery.metadata().items() if k != "steps"}))
    info.add_itxt("sdwidget-sweep", json.dumps({k: v for k, v in record.items() if k != "timings"}))
    info.add_itxt("parameters", a1111_parameters({**run.params, "seed": item.seed}, run.guidance))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()
