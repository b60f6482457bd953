"""What a ``run.json`` may hold: every field typed and bounded, checked before anything is used.

Galleries come from other people. A record that passes here has the shapes the rest of
sdwidget reads (so no ``KeyError`` three calls later), counts no larger than a run can make,
and only file names that ``save`` writes (no paths leading out of the folder).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from ..core import validate
from ..core.extras import Extras

FORMAT = "sdwidget-gallery"
VERSION = 1
MAX_REQUESTS = 100_000

Finite = Annotated[float, Field(allow_inf_nan=False)]
Guidance = Annotated[float, Field(ge=0, le=validate.MAX_GUIDANCE, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Text = Annotated[StrictStr, Field(max_length=validate.MAX_PROMPT_CHARS)]
Prompts = Annotated[list[Text], Field(min_length=1, max_length=validate.MAX_BATCH)]  # a batch
Seed = Annotated[StrictInt, Field(ge=0, le=validate.MAX_SEED)]  # a list: one per image of a batch
Name = Annotated[StrictStr, Field(max_length=200)]
StepFile = Annotated[StrictStr, Field(pattern=r"^steps/step-[0-9]{3,4}\.png$")]
Argument = Annotated[StrictStr, Field(pattern=r"^[a-z_][a-z0-9_]{0,39}$")]  # a pipeline argument's name
InputFile = Annotated[StrictStr, Field(pattern=r"^inputs/[a-z_][a-z0-9_]{0,39}(-[0-9]{1,2})?\.png$")]
BatchFile = Annotated[StrictStr, Field(pattern=r"^final-[0-9]{1,4}\.png$")]  # a batch's later images
InputFiles = Annotated[
    dict[Argument, InputFile | Annotated[list[InputFile], Field(max_length=validate.MAX_BATCH)]], Field(max_length=8)
]
"""A run's image arguments by name: the file of each (a list of files where it had several)."""
Status = Literal["pending", "running", "paused", "finished", "stopped", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(_Record):
    step: StrictInt = Field(ge=0, lt=validate.MAX_LOOP)
    total: StrictInt = Field(ge=1, le=validate.MAX_LOOP)
    timestep: Finite
    guidance: Guidance
    cfg: StrictBool
    elapsed: Seconds
    duration: Seconds
    knobs: Annotated[dict[Argument, Finite], Field(max_length=16)] | None = None


class PromptChange(_Record):
    step: StrictInt = Field(ge=1, lt=validate.MAX_LOOP)
    prompt: Text | Prompts  # a list: one per prompt of a batch started with a list
    negative_prompt: Text | Prompts | None


class Params(_Record):
    model_config = ConfigDict(extra="allow")  # newer versions may record more; replays read these

    prompt: Text | Prompts
    negative_prompt: Text | Prompts | None
    num_inference_steps: StrictInt = Field(ge=1, le=validate.MAX_STEPS)
    guidance_scale: Guidance
    seed: Seed | Annotated[list[Seed], Field(min_length=1, max_length=validate.MAX_BATCH * validate.MAX_BATCH)]
    height: StrictInt = Field(ge=1, le=validate.MAX_SIDE)
    width: StrictInt = Field(ge=1, le=validate.MAX_SIDE)
    scheduler: Name
    scheduler_config: dict[str, Any] | None = None
    pipeline: Name | None = None
    model: Text | None = None
    guidance_schedule: Annotated[list[Guidance], Field(max_length=validate.MAX_LOOP)] | None = None
    steps_run: StrictInt | None = Field(default=None, ge=1, le=validate.MAX_LOOP)
    pipe_kwargs: Annotated[dict[Argument, Any], Field(max_length=100)] | None = None
    inputs: Annotated[list[Argument], Field(max_length=8)] | None = None
    parent: StrictInt | None = Field(default=None, ge=1, le=2**31)
    branch_step: StrictInt | None = Field(default=None, ge=0, le=validate.MAX_LOOP)
    extras: Extras | None = None  # what the pipeline had beyond its model folder (extras.py)


class Files(_Record):
    steps: Annotated[list[StepFile], Field(max_length=validate.MAX_LOOP)]
    final: Literal["final.png"] | None
    batch: Annotated[list[BatchFile], Field(max_length=validate.MAX_BATCH * validate.MAX_BATCH)] = []
    contact_sheet: Literal["contact-sheet.png"] | None = None
    gif: Literal["steps.gif"] | None = None
    webp: Literal["steps.webp"] | None = None
    mp4: Literal["steps.mp4"] | None = None
    inputs: InputFiles = {}


class RunRecord(_Record):
    format: Literal["sdwidget-gallery"]
    version: Literal[1]
    run_id: StrictInt = Field(ge=1, le=2**31)
    params: Params
    status: Status
    error: Annotated[StrictStr, Field(max_length=100_000)] | None
    steps: Annotated[list[Step], Field(max_length=validate.MAX_LOOP)]
    requests: Annotated[list[tuple[StrictInt, Guidance]], Field(max_length=MAX_REQUESTS)]
    knob_requests: Annotated[list[tuple[StrictInt, Argument, Finite]], Field(max_length=MAX_REQUESTS)] = []
    prompts: Annotated[list[PromptChange], Field(max_length=validate.MAX_LOOP)] = []
    versions: dict[Name, Name]
    files: Files | None = None

    @model_validator(mode="after")
    def _one_file_per_step(self) -> RunRecord:
        if self.files is not None and len(self.files.steps) != len(self.steps):
            raise ValueError(f"{len(self.steps)} step records but {len(self.files.steps)} step files")
        return self

    @model_validator(mode="after")
    def _same_knobs_every_step(self) -> RunRecord:
        names = {tuple(sorted(step.knobs or {})) for step in self.steps}
        if len(names) > 1:
            raise ValueError("steps: every step must record the same knobs")
        return self


def check(record: Any, where: str, *, saved: bool = False) -> None:
    """Raise one ``ValueError`` naming ``where`` and the first few problems, or return.
    ``saved``: the record is a saved folder's ``run.json``, which must list its files (a record
    made in memory, ``Gallery.metadata()``, has none yet)."""
    try:
        parsed = RunRecord.model_validate(record)
    except ValidationError as exc:
        raise ValueError(f"{where} is not a valid sdwidget gallery: {_problems(exc)}") from None
    if saved and parsed.files is None:
        raise ValueError(f"{where} is not a valid sdwidget gallery: files: it lists no files (a mapping is needed)")


def check_params(params: Any, where: str) -> None:
    """Raise one ``ValueError`` naming ``where`` unless ``params`` are a run's parameters as a
    gallery may hold them (a sweep's records carry the same), or return. Bounds what a replay
    reads from them: ``steps_run`` no more than a loop makes, ``pipe_kwargs`` a mapping."""
    try:
        Params.model_validate(params)
    except ValidationError as exc:
        raise ValueError(f"{where} are not a run's parameters: {_problems(exc, 'params')}") from None


def _problems(exc: ValidationError, prefix: str = "") -> str:
    """The first three problems, each at its field's dotted path."""
    problems = "; ".join(
        f"{'.'.join(map(str, [prefix, *error['loc']] if prefix else error['loc'])) or 'the record'}: {error['msg']}"
        for error in exc.errors()[:3]
    )
    return problems + (f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else "")
