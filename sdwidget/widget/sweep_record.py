"""One line of a sweep's ``runs.jsonl``, checked, as a run ``Runner.replay`` accepts.

The line may come from a stranger's folder, so every field a replay or the browser reads is
checked here with the runner's own checks (the sweep room checks its records the same way; the
widget may not import it). A record that passes replays exactly as the sweep rendered it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core import knobs, validate
from ..gallery import check_params

MAX_NAME = 200
STATUSES = ("finished", "stopped", "failed")


@dataclass(frozen=True)
class SweepItem:
    """An item's record: ``params``, ``guidance``, ``prompts`` and ``status`` are what ``Runner.replay``
    reads (``core.replay.Recorded``); ``timings`` is shown only."""

    item: int
    params: dict[str, Any]
    guidance: list[float]
    prompts: list[dict[str, Any]]
    status: str
    error: str | None
    timings: dict[str, Any]
    knob_curves: dict[str, list[float]] = field(default_factory=dict)
    """The knobs after the guidance, per step, as the sweep applied them (replayed too)."""
    row: int | None = None
    """In a batched sweep (``--batch``), the item's row in its batch, whose seeds ``params["seed"]``
    lists: the item is that row of the batch's replay; ``None`` where the item was rendered alone."""

    @property
    def seed(self) -> int:
        """The item's own seed (its row's, in a batch)."""
        seed = self.params["seed"]
        return seed[self.row or 0] if isinstance(seed, list) else seed

    def summary(self) -> dict[str, Any]:
        """What the browser shows of the record when its grid cell is clicked."""
        p = self.params
        return {
            "item": self.item, "prompt": p["prompt"], "negative_prompt": p.get("negative_prompt") or "",
            "seed": self.seed, "steps": p["num_inference_steps"], "size": [p["width"], p["height"]],
            "status": self.status, "error": self.error or "", "guidance": self.guidance,
            "prompts": [{"step": c["step"], "prompt": c["prompt"]} for c in self.prompts], **self.timings,
        }  # fmt: skip


def parse_item(record: Any) -> SweepItem:
    """``record`` (a decoded line) checked field by field; ``ValueError``/``TypeError`` says which."""
    if not isinstance(record, dict):
        raise TypeError(f"a record must be an object, got {type(record).__name__}")
    item = validate.integer("item", record.get("item"), 0, 2**31 - 1)
    params = record.get("params")
    if not isinstance(params, dict):
        raise TypeError("params must be an object")
    validate.prompt("params.prompt", params.get("prompt"))
    validate.prompt("params.negative_prompt", params.get("negative_prompt"), optional=True)
    validate.steps(params.get("num_inference_steps"), "params.num_inference_steps")
    seeds = validate.seeds(params.get("seed"), "params.seed")
    row = None
    if isinstance(seeds, list):  # a batched sweep's item: its row in the batch the seeds list
        row = validate.integer("row", record.get("row"), 0, len(seeds) - 1)
    for side in ("height", "width"):
        validate.integer(f"params.{side}", params.get(side), 1, validate.MAX_SIDE)
    for name in ("scheduler", "model", "pipeline"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise TypeError(f"params.{name} must be text")
    if params.get("scheduler_config") is not None and not isinstance(params["scheduler_config"], dict):
        raise TypeError("params.scheduler_config must be an object")
    # Then every field as a gallery's params are checked: a replay reads steps_run (a list that
    # long is built) and pipe_kwargs (a mapping), which the checks above do not cover.
    check_params(params, "params")
    guidance = validate.per_step("guidance", record.get("guidance"))
    status = record.get("status")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {validate.shown(status)}")
    error = record.get("error")
    if error is not None and not isinstance(error, str):
        raise TypeError("error must be text")
    return SweepItem(
        item=item, params=params, guidance=[validate.guidance(g, "guidance") for g in guidance],
        prompts=[_change(c) for c in validate.per_step("prompts", record.get("prompts") or [])], status=status,
        error=None if error is None else error[:2000], timings=_timings(record.get("timings")),
        knob_curves=knobs.recorded(record.get("knobs") or {}, len(guidance)), row=row,
    )  # fmt: skip


def _change(change: Any) -> dict[str, Any]:
    """A prompt edit as the runner's ``prompt_schedule`` takes it."""
    if not isinstance(change, dict):
        raise TypeError("prompts must hold objects")
    return {
        "step": validate.integer("prompts.step", change.get("step"), 1, validate.MAX_LOOP - 1),
        "prompt": validate.prompt("prompts.prompt", change.get("prompt")),
        "negative_prompt": validate.prompt("prompts.negative_prompt", change.get("negative_prompt"), optional=True),
    }


def _timings(timings: Any) -> dict[str, Any]:
    """The render time and where it ran, where the record has them in the right types (shown only,
    so a missing or odd value is left out rather than refused)."""
    timings = timings if isinstance(timings, dict) else {}
    out: dict[str, Any] = {}
    seconds = timings.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds) and seconds >= 0:
        out["seconds"] = float(seconds)
    if isinstance(timings.get("device"), str):
        out["device"] = timings["device"][:MAX_NAME]
    for name in ("rank", "processes"):
        if isinstance(timings.get(name), int) and not isinstance(timings[name], bool) and 0 <= timings[name] < 2**31:
            out[name] = timings[name]
    return out
