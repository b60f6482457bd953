"""The library versions sdwidget is tested with, and one warning when diffusers is another.

sdwidget steers a pipeline by reaching into its denoising loop (a step callback, the guidance it
reads each step, the tensors it doubles for CFG), so a diffusers release that changes a loop can
make steering inexact without an error. Only the series below is run by the tests; pyproject.toml
asks for the same (a test keeps them equal). ``python -m sdwidget check`` runs the exactness
checks on whatever is installed.
"""

from __future__ import annotations

import warnings

DIFFUSERS_SERIES = "0.42"  # the diffusers minor series the tests run: 0.42.x
TESTED = {"diffusers": f"{DIFFUSERS_SERIES}.x", "transformers": "5.25 or later 5.x", "torch": "2.13 or later"}

_warned = False


class UntestedVersionWarning(UserWarning):
    """diffusers is not the series sdwidget is tested with (filter this category to silence it)."""


def series(version: str) -> str:
    """``"0.42.1"`` → ``"0.42"``; ``"0.43.0.dev0"`` → ``"0.43"``."""
    return ".".join(version.split("+")[0].split(".")[:2])


def untested_diffusers(version: str) -> str | None:
    """The warning's text if ``version`` is outside the tested series, else None."""
    if series(version) == DIFFUSERS_SERIES:
        return None
    return (
        f"sdwidget is tested with diffusers {TESTED['diffusers']}; this is diffusers {version}, where steering "
        "may not be exact. `python -m sdwidget check` tells you in a few seconds whether it is."
    )


def warn_if_untested() -> None:
    """Warn once per process if the installed diffusers is outside the tested series."""
    global _warned
    import diffusers

    message = untested_diffusers(diffusers.__version__)
    if message is not None and not _warned:
        _warned = True
        warnings.warn(message, UntestedVersionWarning, stacklevel=2)


def installed() -> dict[str, str]:
    """The installed versions of the libraries in ``TESTED``."""
    import diffusers
    import torch
    import transformers

    return {"diffusers": diffusers.__version__, "transformers": transformers.__version__, "torch": torch.__version__}
