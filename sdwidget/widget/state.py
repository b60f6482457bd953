"""What a batch of a run's events changes in the widget's traits."""

from __future__ import annotations

import io
from typing import Any

from ..core import Run, StatusEvent, StepEvent


def batch_state(
    run: Run, steps: list[StepEvent], status: StatusEvent | None, shown_id: int, applied: list[float]
) -> dict:
    """Trait values after ``steps`` and ``status``; a run other than ``shown_id`` resets the view."""
    state: dict[str, Any] = {}
    if run.id != shown_id:
        p = run.params
        state.update(run_id=run.id, step=0, total=p["num_inference_steps"], applied=[], its=0.0, error="",
                     image=b"", prompt=p["prompt"], negative_prompt=p["negative_prompt"] or "", seed=p["seed"],
                     steps=p["num_inference_steps"], guidance=p["guidance_scale"])  # fmt: skip
    if steps:
        last = steps[-1]
        applied = [*state.get("applied", applied), *(s.guidance for s in steps)]
        state.update(step=last.step + 1, total=last.total, applied=applied)
        state["its"] = (last.step + 1) / last.elapsed if last.elapsed > 0 else 0.0
    if status is not None:
        state.update(status=status.status.value, error=status.error or "")
        if status.status.done and run.image is not None:
            out = io.BytesIO()
            run.image.save(out, format="PNG")
            state["image"] = out.getvalue()
    return state
