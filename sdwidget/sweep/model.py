"""The model a sweep runs on: found before any work (``locate``), loaded once per process (``load``).

The model is the one the run records (``params["model"]``: the folder or hub id it was loaded
from) unless the caller names another. The recorded scheduler and its configuration are put
back too, because a run steered on DPM++ and swept on the folder's default Euler would not be
the same recipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diffusers
import torch

from ..demo import MODEL_DIR, demo_pipeline
from .inputs import SweepError
from .weights import DTYPES, check_revision, check_variant


def is_pipeline(model: Any) -> bool:
    return callable(model) and hasattr(model, "scheduler") and hasattr(model, "components")


def locate(model: Any, params: dict[str, Any], variant: str | None = None, revision: str | None = None) -> str:
    """Where the model is, checked to exist locally (nothing is downloaded mid-sweep) with the
    weights asked for; a folder's path made absolute (the sweep records it, and may run elsewhere)."""
    if is_pipeline(model):
        return str(getattr(model, "name_or_path", None) or type(model).__name__)
    recorded = model is None
    if recorded:
        model = params.get("model")
        if not model:
            raise SweepError(
                "the run records no model (its pipeline was built in Python, not loaded from a folder); "
                "pass --model PATH (model=... in Python)"
            )
        whose = "the model the run records"
    elif isinstance(model, str | os.PathLike):
        whose = "the model"
    else:
        raise SweepError(f"model must be a folder, a hub id or a diffusers pipeline, got {type(model).__name__}")
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise SweepError(f"{whose}, {path}, holds no model_index.json; is it a diffusers pipeline folder?")
        check_revision(text, revision, is_folder=True)
        check_variant(path, variant)
        return str(path.absolute())
    check_revision(text, revision, is_folder=False)
    if _cached_hub_model(text, revision):
        return text
    advice = (
        "pass --model PATH (model=... in Python) to sweep on a model you have"
        if recorded
        else "check the path, or download the model first"
    )
    raise SweepError(
        f"{whose}, {text!r}, cannot be found: there is no such folder and no such model in the Hugging Face "
        f"cache; {advice}"
    )


def _cached_hub_model(repo_id: str, revision: str | None = None) -> bool:
    """A hub id whose pipeline index is already downloaded (a sweep only ever loads locally)."""
    if repo_id.count("/") != 1 or repo_id.startswith(("/", ".", "~")):
        return False
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "model_index.json", revision=revision), str)
    except ValueError:  # not a valid repo id
        return False


def pipeline_class(name: Any) -> Any:
    """The diffusers pipeline class a run records by name (``params["pipeline"]``), or ``None``
    for a name that is none (a modular pipeline, a custom one, an old record without it)."""
    cls = getattr(diffusers, name, None) if isinstance(name, str) and name.isidentifier() else None
    return cls if isinstance(cls, type) and issubclass(cls, diffusers.DiffusionPipeline) else None


def load(
    location: str, device: torch.device | str, dtype: str, variant: str | None = None, revision: str | None = None,
    pipeline: str | None = None,
) -> Any:  # fmt: skip
    """The pipeline at ``location`` on ``device``, of the run's class ``pipeline`` (its name) when
    diffusers has it, else text-to-image; its loading and per-step bars off (a sweep shows one
    line of items, from its main process). Why the run's class: an inpaint folder loaded as
    text-to-image is a text-to-image pipeline with a 9-channel UNet, which no item can run."""
    if dtype not in DTYPES:
        raise SweepError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r:.40}")
    cls = pipeline_class(pipeline)
    if Path(location).expanduser().resolve() == MODEL_DIR.resolve():
        pipe = demo_pipeline(device, DTYPES[dtype], Path(location))  # quiet, and recorded under the same name
        if cls is not None and type(pipe) is not cls:
            pipe = cls.from_pipe(pipe)  # the demo's weights, shared, in the run's pipeline
    else:
        with quiet_loading():
            pipe = (cls or diffusers.AutoPipelineForText2Image).from_pretrained(
                location, dtype=DTYPES[dtype], variant=variant, revision=revision, local_files_only=True
            )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading pipeline components" / "Loading checkpoint shards" bars while loading (one
    per process, on every node, under the sweep's own line); put back as they were after."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    was = [diffusers_logging.is_progress_bar_enabled(), transformers_logging.is_progress_bar_enabled()]
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was[0]:
            diffusers_logging.enable_progress_bar()
        if was[1]:
            transformers_logging.enable_progress_bar()


def use_recorded_scheduler(pipe: Any, params: dict[str, Any]) -> None:
    """Put back the scheduler the run was recorded with when the pipeline has another."""
    name, config = params.get("scheduler"), params.get("scheduler_config")
    if not name or config is None or _config(pipe.scheduler) == config and type(pipe.scheduler).__name__ == name:
        return
    cls = getattr(diffusers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, diffusers.SchedulerMixin)):
        message = f"the run's scheduler {name!r} is not a diffusers scheduler; sweeping on the model's own"
        warnings.warn(message, stacklevel=2)
        return
    pipe.scheduler = cls.from_config(config)  # type: ignore[attr-defined]
    if _config(pipe.scheduler) != config:
        warnings.warn(f"{name} could not be rebuilt exactly as recorded; the images may differ", stacklevel=2)


def _config(scheduler: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(scheduler.config), default=str))
