"""The widget's galleries and sweeps: what it shows besides its runs, with or without a model."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import Run, Runner, guider_swap, validate
from ..gallery import Gallery
from .history import History
from .sweeps import Sweep
from .traits import WidgetState


class Library(WidgetState):
    """``SamplerWidget``'s galleries (``add_gallery``, ``save_gallery``), sweeps (``add_sweep``,
    ``replay_sweep``) and the frames of any run or gallery sent to a view that asks for them."""

    # SamplerWidget's: its runner, history, shown sweep and trait assignment under one lock.
    runner: Runner | None
    _history: History
    _sweep: Sweep | None
    _apply: Callable[[dict[str, Any]], None]
    set_guider: Callable[..., str]  # GuiderChoice's

    def add_gallery(self, gallery: Gallery | str | os.PathLike) -> Gallery:
        """Show a gallery (or the folder of one) in the history and view it; no model needed."""
        try:
            gallery = gallery if isinstance(gallery, Gallery) else Gallery.load(gallery)
            key = self._history.add_gallery(gallery)
        except (OSError, ValueError) as exc:
            self._apply({"message": f"Could not add the gallery: {exc}"})
            raise
        self._apply({"runs": self._history.entries(), "view": key, "message": ""})
        return gallery

    def add_sweep(self, folder: str | os.PathLike) -> None:
        """Show the grid of a sweep's ``--out`` folder under the run (no model needed to look);
        clicking an image shows that item's record and replays it here (``replay_sweep``)."""
        try:
            sweep = Sweep(folder)
        except (OSError, ValueError) as exc:
            self._apply({"message": f"Could not add the sweep: {exc}"})
            raise
        self._sweep = sweep
        self._apply({"sweep": sweep.state(self.sweep.get("key", 0) + 1), "message": ""})

    def replay_sweep(self, item: int) -> Run:
        """Show the record of the shown sweep's item ``item`` and replay it as the current run, at the
        widget's pace: its frames paint live, and its final image is the sweep's, pixel for pixel."""
        item = validate.integer("Sweep item", item, 0, 2**31 - 1)
        if self._sweep is None:
            raise RuntimeError("Sweep item: no sweep in this widget; add one with add_sweep(folder)")
        record = self._sweep.item(item)
        self._apply({"sweep": self._sweep.state(self.sweep["key"], item)})
        if self.runner is None:
            raise RuntimeError("Sweep item: no pipeline to replay with; create the widget with SamplerWidget(pipe)")
        if self.runner.run is not None and not self.runner.run.done:
            raise RuntimeError("Sweep item: a run is going; press Stop or wait for it to finish")
        if record.row is not None:
            raise RuntimeError(
                f"Sweep item: item {item} was rendered in a batch (seeds {record.params['seed']}): its image is row "
                f"{record.row} of the batch's replay, which the widget does not show; replay it from Python: "
                f"runner.replay(sdwidget.sweep.load_source(record_file)).images[{record.row}]"
            )
        guider = guider_swap.recorded(self.runner.family, record.params)
        if guider is not None:  # the item's guider, and the Guider select and knobs with it
            self.set_guider(guider)
        return self.runner.replay(record, pace=self.pace or None, keep_latents=True)

    def save_gallery(self, run: int | None = None) -> Path:
        """Write the gallery of run ``run`` (default: the current one) under ``gallery_dir``."""
        key = run if run is not None else self.run_id
        path = self._history.save(key, self.gallery_dir)
        self._apply({"saved": path.name, "runs": self._history.entries()})
        return path

    def _send_frames(self, key: int) -> None:
        """A run's frames in one message, for a view that opened late or browses the history."""
        metas, pngs = self._history.frames(key)
        content: dict[str, Any] = {"type": "history", "run": key, "frames": metas}
        final = self._history.final_png(key)
        if final is not None:  # the end of the scrubber shows it, for runs that ended before the page opened
            content["final"], pngs = True, [*pngs, final]
        self.send(content, pngs)
