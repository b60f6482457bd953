"""What a sweep cannot load from a model folder, refused by name: a run's LoRA adapters, its
components loaded from elsewhere (a swapped VAE) and the tokens it added (textual inversions),
as the run records them (``params["extras"]``, found by ``sdwidget.core.extras``).

Why refuse: the sweep loads the folder alone, so its images would be another model's under the
run's name. A pipeline given in Python (``model=pipe``) may carry them: it is swept when it
carries the same adapters (by name: their weights are not compared), components from the same
places and the same tokens, and refused with what differs otherwise.
"""

from __future__ import annotations

from typing import Any

from ..core.extras import pipeline_extras, source
from .inputs import SweepError
from .model import is_pipeline

KNOWN = {"adapters", "components", "tokens"}
ADVICE = "sweep it in Python on the pipeline that has them: sdwidget.sweep.sweep(..., model=pipe)"


def check(params: dict[str, Any], model: Any) -> None:
    """Before any model loads: the run's adapters and components against a given pipeline's,
    or refused where the sweep would load a folder (which has neither); tokens too for a given one."""
    recorded = params.get("extras") or {}
    unknown = sorted(set(recorded) - KNOWN)  # a newer sdwidget's: refused rather than dropped
    if unknown:
        raise SweepError(f"the run records extras this sdwidget cannot reproduce ({', '.join(unknown)}); {ADVICE}")
    if is_pipeline(model):
        problems = _differences(recorded, pipeline_extras(model), model)
        if problems:
            raise SweepError(f"the given pipeline is not the run's: {'; '.join(problems)}")
        check_tokens(params, model, "the given pipeline's")
        return
    problems = [_component(name, where) for name, where in (recorded.get("components") or {}).items()]
    if recorded.get("adapters"):
        problems.insert(0, f"LoRA adapters ({_adapters(recorded['adapters'])})")
    if problems:
        made = " and ".join(problems)
        raise SweepError(f"the run was made with {made}, which a model folder does not hold; {ADVICE}")


def check_tokens(params: dict[str, Any], pipe: Any, whose: str = "the model's") -> None:
    """After loading: every token the run added to a tokenizer is in this pipeline's."""
    for name, tokens in ((params.get("extras") or {}).get("tokens") or {}).items():
        get_vocab = getattr(getattr(pipe, name, None), "get_vocab", None)
        vocabulary = get_vocab() if callable(get_vocab) else {}
        missing = [token for token in tokens if token not in vocabulary]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise SweepError(
                f"the run's {name} had tokens added to it (a textual inversion: {shown}) that {whose} {name} "
                f"does not have; {ADVICE}"
            )


def _differences(recorded: dict[str, Any], given: dict[str, Any], pipe: Any) -> list[str]:
    """What a given pipeline carries otherwise than the run's did (adapters, components)."""
    out = []
    ours, theirs = recorded.get("adapters") or {}, given.get("adapters") or {}
    if ours != theirs:
        out.append(f"the run had LoRA adapters {_adapters(ours) or 'none'}, it has {_adapters(theirs) or 'none'}")
    components = recorded.get("components") or {}
    for name in sorted({*components, *(given.get("components") or {})}):
        now = source(getattr(pipe, name, None))
        if name not in components or components[name] != now:
            was = components.get(name, "its model folder") or "memory"
            out.append(f"the run's {name} came from {was}, its {name} from {now or 'memory'}")
    return out


def _adapters(adapters: dict[str, list[str]]) -> str:
    """``style on unet, text_encoder``: each adapter with the components it is on."""
    on: dict[str, list[str]] = {}
    for component, names in adapters.items():
        for name in names:
            on.setdefault(name, []).append(component)
    return "; ".join(f"{name} on {', '.join(components)}" for name, components in on.items())


def _component(name: str, where: str | None) -> str:
    return f"a {name} loaded from {where}" if where else f"a {name} built in memory"
