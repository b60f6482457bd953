"""``python -m sdwidget check``: is steering exact on the diffusers, transformers and torch installed here?

Tiny offline pipelines of each family (``sdwidget.testing``) run through sdwidget's ``Runner`` and
through diffusers' own pipeline (``references``: no sdwidget code), and their final latents are
compared bit for bit on the CPU: a run left alone for SD, SDXL, SD3 and Flux, and guidance crossing
1.0 downward mid-run for SD, SDXL and SD3. A few seconds each. Exit status 0 if all are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..versions import TESTED, installed, untested_diffusers
from .cases import Outcome, cases, run_case


def run_checks(say: Callable[[str], None] = print) -> list[Outcome]:
    """Run every check, saying each outcome as it comes; the outcomes."""
    versions = installed()
    say("sdwidget self-check on " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    say("  (tested: " + ", ".join(f"{name} {tested}" for name, tested in TESTED.items()) + ")")
    outcomes = []
    for case in cases():
        began = time.perf_counter()
        outcome = run_case(*case)
        outcomes.append(outcome)
        verdict = "exact" if outcome.exact else "NOT exact"
        say(f"{outcome.name:5s} {verdict:9s} {outcome.what}: {outcome.detail} ({time.perf_counter() - began:.1f} s)")
    wrong = sorted({outcome.name for outcome in outcomes if not outcome.exact}, key=[o.name for o in outcomes].index)
    if not wrong:
        say("Steering is exact here: every run equals diffusers' own pipeline to the last bit.")
    else:
        say(f"Steering is NOT exact here for {', '.join(wrong)}: runs there may differ from what diffusers computes.")
        if untested_diffusers(versions["diffusers"]):
            say(f"Install diffusers {TESTED['diffusers']} (the tested series) for exact steering.")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """0 if every check is exact, else 1."""
    if argv:
        print("usage: python -m sdwidget check  (no arguments)")
        return 2
    return 0 if all(outcome.exact for outcome in run_checks()) else 1


__all__ = ["Outcome", "main", "run_checks"]
