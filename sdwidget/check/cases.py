"""Each self-check: sdwidget's Runner (public API only) against diffusers' own pipeline, bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .references import PROMPT, SEED, STEPS, bare_latents, cfg_off_after, common, distilled_after

HIGH, LOW, CUT = 5.0, 0.8, 3  # guidance 5 for steps 0-3, then 0.8 (CFG off) from step 4 on
Check = Callable[[Any], tuple[bool, str]]
Case = tuple[str, str, Callable[[], Any], Check]


@dataclass
class Outcome:
    name: str
    what: str
    exact: bool
    detail: str


def runner_latents(pipe: Any, **kwargs: Any) -> torch.Tensor:
    from .. import Runner

    run = Runner(pipe, cpu_threads=1).start(PROMPT, seed=SEED, **common(pipe), **kwargs)
    run.wait()
    if run.latents is None:
        raise RuntimeError(f"the run ended {run.status.value} without latents: {run.traceback}")
    return run.latents


def compare(ours: torch.Tensor, theirs: torch.Tensor) -> tuple[bool, str]:
    if ours.shape != theirs.shape:
        return False, f"shapes differ: {tuple(ours.shape)} against {tuple(theirs.shape)}"
    if torch.equal(ours, theirs):
        return True, "equal to the last bit"
    return False, f"max difference {(ours.float() - theirs.float()).abs().max().item():.3g}"


def unsteered(pipe: Any) -> tuple[bool, str]:
    return compare(runner_latents(pipe, guidance_scale=HIGH), bare_latents(pipe, HIGH))


def steered(pipe: Any) -> tuple[bool, str]:
    reference = (distilled_after if type(pipe).__name__ == "FluxPipeline" else cfg_off_after)(pipe, CUT, HIGH, LOW)
    if torch.equal(reference, bare_latents(pipe, HIGH)):
        return False, "the reference did not change with the guidance: this check cannot tell"
    schedule = [HIGH] * (CUT + 1) + [LOW] * (STEPS - CUT - 1)
    return compare(runner_latents(pipe, guidance_schedule=schedule), reference)


UNSTEERED = "a run left alone equals the bare pipeline"
STEERED = f"guidance {HIGH} → {LOW} after step {CUT + 1} (CFG off) equals diffusers' own CFG cutoff"
DISTILLED = f"distilled guidance {HIGH} → {LOW} after step {CUT + 1} equals the pipeline given it"


def cases() -> list[Case]:
    """(family, what is checked, pipeline builder, check) for every check, cheapest first."""
    from ..testing import tiny_flux_pipeline, tiny_sd3_pipeline, tiny_sd_pipeline, tiny_sdxl_pipeline

    families: list[tuple[str, Callable[[], Any]]] = [
        ("SD", tiny_sd_pipeline), ("SDXL", tiny_sdxl_pipeline), ("SD3", tiny_sd3_pipeline), ("Flux", tiny_flux_pipeline)
    ]  # fmt: skip
    return [
        (name, what, build, check)
        for name, build in families
        for what, check in ((UNSTEERED, unsteered), (DISTILLED if name == "Flux" else STEERED, steered))
    ]


def run_case(name: str, what: str, build: Callable[[], Any], check: Check) -> Outcome:
    try:
        exact, detail = check(build())
    except Exception as error:  # a diffusers that changed under us: not exact, and say why
        exact, detail = False, f"failed: {type(error).__name__}: {error}".splitlines()[0]
    return Outcome(name, what, exact, detail)
