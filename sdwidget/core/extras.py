"""What a run's pipeline carries beyond its model folder: LoRA adapters, components loaded from
elsewhere (a swapped VAE), tokens added to a tokenizer (textual inversions).

Why: a sweep loads the model folder alone, so a run made with any of these came out as other
images under the run's name. Recorded with the run (``params["extras"]``, only where found, so a
plain run's params are as they were), they let a sweep refuse what it cannot load, naming it.
Found from the pipeline's objects alone, in microseconds (a run's start records them): LoRA
layers by the ``peft_config`` that diffusers' and transformers' adapter loaders set (what
``pipe.get_list_adapters()`` reads), a component by the folder its config says it was loaded
from (``_name_or_path``: the pipeline's folder's own subfolder, or its hub snapshot's), tokens by
those the tokenizer holds beyond what it was loaded with (``init_kwargs``). Not found: a LoRA
fused into the weights and then unloaded (no trace is left), adapter weights set by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

Name = Annotated[StrictStr, Field(max_length=200)]
Component = Annotated[StrictStr, Field(pattern=r"^[a-z_][a-z0-9_]{0,39}$")]
Where = Annotated[StrictStr, Field(max_length=4096)]  # a folder or hub id


class Extras(BaseModel):
    """``params["extras"]`` as a gallery may hold it."""

    model_config = ConfigDict(extra="allow")  # newer versions may find more; a sweep refuses what it knows
    adapters: Annotated[dict[Component, Annotated[list[Name], Field(max_length=64)]], Field(max_length=16)] = {}
    """LoRA (any peft) adapters by component: ``{"unet": ["style"]}``."""
    components: Annotated[dict[Component, Where | None], Field(max_length=16)] = {}
    """Components not loaded from the pipeline's folder: where each was (``None``: built in memory)."""
    tokens: Annotated[dict[Component, Annotated[list[Name], Field(max_length=10_000)]], Field(max_length=4)] = {}
    """Tokens added to each tokenizer after it was loaded (textual inversions)."""


def recorded_extras(pipe: Any) -> dict[str, Any]:
    """``{"extras": pipeline_extras(pipe)}`` for a run's params, or ``{}`` where there are none."""
    found = pipeline_extras(pipe)
    return {"extras": found} if found else {}


def pipeline_extras(pipe: Any) -> dict[str, Any]:
    """``{"adapters": ..., "components": ..., "tokens": ...}``, each only where something is found."""
    parts = dict(getattr(pipe, "components", None) or {})
    home = str(getattr(pipe, "name_or_path", None) or "") or None  # None: built in memory, no folder to judge by
    adapters = {name: sorted(map(str, part.peft_config)) for name, part in parts.items() if _adapters(part)}
    components = {
        name: source(part)
        for name, part in parts.items()
        if home is not None and _weighted(part) and not _belongs(source(part), home)
    }
    tokens = {name: added for name, part in parts.items() if (added := added_tokens(part))}
    found = {"adapters": adapters, "components": components, "tokens": tokens}
    return {kind: value for kind, value in found.items() if value}


def source(part: Any) -> str | None:
    """Where a model or tokenizer says it was loaded from (``None``: built in memory)."""
    where = getattr(part, "name_or_path", None) or getattr(getattr(part, "config", None), "_name_or_path", None)
    return str(where) if where else None


def added_tokens(tokenizer: Any) -> list[str]:
    """Tokens added to ``tokenizer`` since it was loaded, special tokens aside."""
    if not callable(getattr(tokenizer, "get_added_vocab", None)):
        return []
    loaded = (getattr(tokenizer, "init_kwargs", None) or {}).get("added_tokens_decoder") or {}
    saved = {str(t.get("content") if isinstance(t, dict) else getattr(t, "content", t)) for t in loaded.values()}
    special = set(getattr(tokenizer, "all_special_tokens", ()))
    return sorted(t for t in tokenizer.get_added_vocab() if t not in saved and t not in special)


def _adapters(part: Any) -> bool:
    return isinstance(getattr(part, "peft_config", None), dict) and bool(part.peft_config)


def _weighted(part: Any) -> bool:
    """A model (its weights are loaded) or a tokenizer (its vocabulary is); schedulers are recorded apart."""
    import torch

    return isinstance(part, torch.nn.Module) or callable(getattr(part, "get_added_vocab", None))


def _belongs(where: str | None, home: str) -> bool:
    """Loaded from the pipeline's folder (its subfolder), its hub snapshot's, or the same place."""
    if where is None:
        return False
    if where == home:  # from_pretrained(home, subfolder="vae") records home itself
        return True
    parent, folder = Path(where).expanduser().parent, Path(home).expanduser()
    if folder.is_dir():
        return parent.resolve() == folder.resolve()
    # A hub id's components load from ~/.cache/huggingface/hub/models--ORG--NAME/snapshots/HASH/NAME.
    return parent.parent.name == "snapshots" and parent.parent.parent.name == f"models--{home.replace('/', '--')}"
