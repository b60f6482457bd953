"""The recorded run a sweep replays, from whatever the caller holds: a gallery, a run, a record.

Galleries are read (and checked against their schema) by ``Gallery.load``; a sweep's own record
has no gallery schema, so its fields are checked here, with the runner's own checks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import validate
from ..core.knobs import recorded as recorded_knobs
from ..gallery import Gallery, check_params
from . import images
from .inputs import SweepError, read_file

MAX_RECORD_BYTES = 8 << 20


@dataclass(frozen=True)
class Source:
    """The recorded run a sweep replays; ``Runner.replay`` accepts it (it is ``Recorded``)."""

    params: dict[str, Any]
    guidance: list[float]
    prompts: list[dict[str, Any]] = field(default_factory=list)
    status: str = "finished"
    run_id: int | None = None
    knob_curves: dict[str, list[float]] = field(default_factory=dict)
    """The knobs after the guidance, per step (``Run.knob_curves``)."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """The run's image arguments (PIL, by name; ``Gallery.inputs``): a replay passes them again."""

    def identity(self) -> dict[str, Any]:
        """Everything about the source that shapes a sweep's images, as plain JSON values (its
        images by digest; a run without any has the identity it always had)."""
        return json.loads(json.dumps(
            {"run_id": self.run_id, "params": self.params, "guidance": self.guidance, "prompts": self.prompts,
             "status": self.status, **({"knobs": self.knob_curves} if self.knob_curves else {}),
             **({"inputs": images.digests(self.inputs)} if self.inputs else {})}
        ))  # fmt: skip


def load_source(source: Any) -> Source:
    """A ``Gallery``, a ``Run``, a gallery folder, a gallery's ``run.json`` or a sweep's record
    (``records/NAME.json``, or a mapping such as a line of ``runs.jsonl``), with the run's images
    (a record's from its sweep's folder, so an image-input run's mapping is refused)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        if path.is_dir() or path.name == "run.json" and path.is_file():
            try:  # a gallery's run.json is read with its folder, checked against the gallery's schema
                source = Gallery.load(path if path.is_dir() else path.parent)
            except (OSError, ValueError) as exc:
                raise SweepError(str(exc)) from None
        elif os.path.lexists(path):
            # A FIFO or a device is refused there; the images a record names are in its sweep's folder.
            folder = path.parent.parent if path.parent.name == "records" else path.parent
            source = _from_record(_read_json(path), folder)
        else:
            raise SweepError(f"{path} does not exist; give a gallery folder or a run JSON file")
    if isinstance(source, Mapping):
        source = _from_record(dict(source))
    try:
        params, guidance = dict(source.params), [float(g) for g in source.guidance]
        prompts, status = [dict(change) for change in source.prompts], getattr(source.status, "value", source.status)
        knobs = {name: [float(v) for v in curve] for name, curve in dict(source.knob_curves).items()}
    except (AttributeError, TypeError, ValueError) as exc:
        raise SweepError(f"a sweep replays a Run, a Gallery or a run record, not {type(source).__name__}") from exc
    if not guidance:
        raise SweepError("the recorded run has no steps, so there is no guidance curve to sweep")
    if str(status) in ("pending", "running", "paused"):
        raise SweepError(f"the run is {status}: its guidance curve is not complete; stop it or let it finish first")
    run_id = getattr(source, "run_id", getattr(source, "id", None))
    return Source(params, guidance, prompts, str(status), run_id, knobs, images.named(images.held(source), params))


def _read_json(path: Path) -> dict[str, Any]:
    data = read_file(path, MAX_RECORD_BYTES, "the run record")
    try:
        record = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SweepError(f"{path} is not a JSON run record: {str(exc)[:200]}") from None
    if not isinstance(record, dict):
        raise SweepError(f"{path} is not a JSON run record (it holds a {type(record).__name__})")
    return record


def _from_record(record: dict[str, Any], folder: Path | None = None) -> Source:
    """A sweep item's record: its params checked as a gallery's are (``check_params``), its curve
    and prompt edits as the runner checks them, so a crafted record is refused before any work.
    Its images (``record["inputs"]``, files) are read from ``folder``, its sweep's."""
    params, guidance = record.get("params"), record.get("guidance")
    if not isinstance(params, dict) or not isinstance(guidance, list):
        raise SweepError("a run record needs 'params' (a mapping) and 'guidance' (a list of numbers)")
    try:
        validate.prompt("prompt", params.get("prompt"))
        validate.prompt("negative_prompt", params.get("negative_prompt"), optional=True)
        validate.steps(params.get("num_inference_steps"))
        validate.seeds(params.get("seed"))
        for name in ("height", "width"):
            validate.integer(name, params.get(name), 1, validate.MAX_SIDE)
        guidance = [validate.guidance(g) for g in validate.per_step("guidance", guidance)]
        # A replay reads steps_run (it builds a curve that long) and pipe_kwargs (a mapping).
        check_params(params, "its params")
        prompts = [_change(change) for change in validate.per_step("prompts", record.get("prompts") or [])]
        knobs = recorded_knobs(record.get("knobs") or {}, len(guidance))
    except (TypeError, ValueError) as exc:
        raise SweepError(f"the run record is not valid: {exc}") from None
    status = record.get("status", "finished")
    run_id = record.get("run_id")
    held: dict[str, Any] = {}
    if params.get("inputs"):
        if folder is None or record.get("inputs") is None:
            raise SweepError(
                f"the run record's run takes {', '.join(map(str, params['inputs']))}, kept in its sweep's folder: "
                "load it from that folder's records/NAME.json"
            )
        held = images.read(folder, record["inputs"])
    return Source(params, guidance, prompts, status if isinstance(status, str) else "finished",
                  run_id if type(run_id) is int else None, knobs, images.named(held, params))  # fmt: skip


def _change(change: Any) -> dict[str, Any]:
    """A recorded prompt edit as the runner's ``prompt_schedule`` takes it."""
    if not isinstance(change, dict):
        raise TypeError("a run record's 'prompts' must be a list of prompt changes")
    return {
        "step": validate.integer("prompts.step", change.get("step"), 1, validate.MAX_LOOP - 1),
        "prompt": validate.prompts("prompts.prompt", change.get("prompt")),
        "negative_prompt": validate.prompts("prompts.negative_prompt", change.get("negative_prompt"), optional=True),
    }
