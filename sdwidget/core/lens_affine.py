"""A step's guidance lens as an affine map of the guidance, for a page that draws it itself.

Under linear guidance a step hands its scheduler ``uncond + g·(cond − uncond)``, and the x0 the
schedulers sdwidget reads give is affine in that output: the lens is ``x0(g) = A + g·B``, and a
page holding A and B draws any value with no round trip. Not everywhere, and the rule is
numerical, never a list of families or knobs:

- the affine part is fit through the lens, its halves mixed in float32 (``Run.lens_float32``: a
  half-precision run's own mix rounds to 1e-3, far over the check), at the ends of the
  range ``[low, high]`` (the widget's: the guidance knob's off value and top), and held
  only where the lens at five values (the ends, the middle and the quarters) agrees with
  ``A + g·B``, evaluated in float64 from the float32 A and B the page gets, to
  ``max |A + g·B − lens(g)| ≤ 1e-5 · max |lens(g)|``;
- below ``low`` (at and below the off value a step hands its scheduler the conditional half
  alone) the lens is flat, ``x0(low)``, where it agrees at 0, ``low/2`` and ``low`` to the same
  tolerance (``flat_below``); else a value there is not covered.

Whatever fails is refused with its reason (``ValueError``): a guidance rescale or a family's
renormalisation (not affine), a scheduler's x0 clipped or thresholded inside the range, a step
run with one half (no lens above the off value: the lens itself refuses), a guidance that is a
model input (a paid lens: refused before any call). The page then asks the kernel for each value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .lens_frames import Pictures
from .paid_lens import PaidOffer

if TYPE_CHECKING:
    from .run import Run

TOLERANCE = 1e-5
"""The largest difference from the lens, relative to its largest magnitude, the affine part may show."""


@dataclass(frozen=True)
class Affine:
    """``x0(g) = a + g·b`` for ``low ≤ g ≤ high`` (and ``x0(low)`` below ``low`` where ``flat_below``)."""

    low: float
    high: float
    flat_below: bool
    a: torch.Tensor
    """float32 on the CPU, shaped as ``Lens.latents`` (the preview's view)."""
    b: torch.Tensor
    pictures: Pictures
    """How the run draws the lens (``Lens.pictures``): the page's recipe is its quick picture's."""


def affine(run: Run, step: int, low: float, high: float) -> Affine:
    """The verified affine part of ``run``'s lens at ``step`` (see the module's rule), or ``ValueError``."""
    if not 0 <= low < high:
        raise ValueError(f"no affine lens: the range [{low:g}, {high:g}] is empty")
    seen: dict[float, torch.Tensor] = {}
    pictures: list[Pictures] = []  # the run's, read from the first lens (not one more lens for it)

    def lens(g: float) -> torch.Tensor:
        if g not in seen:
            try:  # a lens that would cost a model call is refused here: only free values are read
                seen_lens = run.lens_float32(step, g)
            except PaidOffer as exc:
                raise ValueError(f"no free guidance lens: {exc.reason}") from None
            seen[g] = seen_lens.latents.detach().to("cpu", torch.float64)
            pictures.append(seen_lens.pictures)
        return seen[g]

    slope = (lens(high) - lens(low)) / (high - low)
    a, b = (lens(low) - low * slope).float(), slope.float()
    for g in (low, (3 * low + high) / 4, (low + high) / 2, (low + 3 * high) / 4, high):
        gap = _gap(a.double() + g * b.double(), lens(g))
        if not gap <= TOLERANCE:  # NaN fails too
            raise ValueError(f"the lens is not affine in the guidance: {gap:.2g} off at {g:g}")
    flat = low > 0 and all(_gap(lens(low), lens(g)) <= TOLERANCE for g in (0.0, low / 2))
    return Affine(low, high, flat, a, b, pictures[0])


def _gap(approx: torch.Tensor, exact: torch.Tensor) -> float:
    """The largest difference, relative to the lens's largest magnitude."""
    return float((approx - exact).abs().max() / max(float(exact.abs().max()), 1e-12))
