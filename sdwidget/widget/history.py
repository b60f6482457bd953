"""The runs a widget has seen and the galleries loaded into it, keyed as the browser names them."""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from pathlib import Path
from typing import Any

from ..core import Run
from ..gallery import Gallery
from .interval import recorded
from .sender import encode, frame_meta
from .state import knob_curves, rate, speed


def gallery_name(record: Run | Gallery) -> str:
    """``20261123-214501-run3-a-red-star-on-a-blue``: sortable, unique per second and run, readable."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(record.params.get("prompt") or "").lower()).strip("-")[:40].strip("-")
    run_id = int(record.id if isinstance(record, Run) else record.run_id)  # checked: an int, never a path
    return f"{time.strftime('%Y%m%d-%H%M%S')}-run{run_id}-{slug or 'untitled'}"


class History:
    """Runs (key = run id) and loaded galleries (keys -1, -2, …), newest last, runs bounded."""

    def __init__(self, max_runs: int) -> None:
        self.max_runs = max_runs
        self._records: dict[int, Run | Gallery] = {}
        self._pngs: dict[int, list[bytes]] = {}
        self._next_gallery = -1
        self._saved: dict[int, str] = {}  # key → where its last gallery was written, as the folder was given
        self._lock = threading.Lock()  # runs arrive on runner threads, entries are read on sender threads

    def add_run(self, run: Run, pngs: list[bytes]) -> None:
        """``pngs`` is the sender's list, filled as frames go out, shared rather than copied."""
        with self._lock:
            self._records[run.id], self._pngs[run.id] = run, pngs
            runs = [key for key, record in self._records.items() if isinstance(record, Run)]
            for key in runs[: max(0, len(runs) - self.max_runs)]:
                del self._records[key], self._pngs[key]

    def add_gallery(self, gallery: Gallery) -> int:
        """Check ``gallery`` (``ValueError`` leaves the history as it was) and add it; the oldest
        loaded galleries are dropped beyond ``max_runs`` of them, like runs."""
        from PIL import Image

        gallery.check()
        pngs = [encode(Image.fromarray(frame, "RGB")) for frame in gallery.frames]
        with self._lock:
            key, self._next_gallery = self._next_gallery, self._next_gallery - 1
            self._records[key], self._pngs[key] = gallery, pngs
            galleries = [key for key, record in self._records.items() if not isinstance(record, Run)]
            for old in galleries[: max(0, len(galleries) - max(self.max_runs, 1))]:
                del self._records[old], self._pngs[old]
        return key

    def __getitem__(self, key: int) -> Run | Gallery:
        with self._lock:
            if key not in self._records:
                raise ValueError(f"no run {key} in this widget's history")
            return self._records[key]

    def frames(self, key: int) -> tuple[list[dict[str, Any]], list[bytes]]:
        """What a ``history`` message carries for ``key``: per-step metadata and PNGs."""
        record = self[key]
        with self._lock:
            pngs = list(self._pngs[key])
        if isinstance(record, Run):
            metas = [frame_meta(event) for event in record.steps[: len(pngs)]]
        else:
            metas = [{"run": key, "step": s["step"], "total": s["total"], "guidance": s["guidance"], "cfg": s["cfg"],
                      "duration": s["duration"], "t": None} for s in record.steps]  # fmt: skip
        return metas, pngs

    def final_png(self, key: int) -> bytes | None:
        """``key``'s final image as PNG (``None`` while it runs, or when it failed before making
        one): what the end of the browser's scrubber shows, sent with the run's frames."""
        record = self[key]
        image = record.image if not isinstance(record, Run) or record.done else None
        if image is None:
            return None
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        """The ``runs`` trait: what the browser lists, small enough to be saved with the notebook.

        Each entry carries what the browser shows of that run without asking for its frames:
        ``key``; ``name`` (``#3`` for a run, ``gallery <folder>`` for a loaded gallery, unique
        among the entries); its own parameters (``prompt``, ``negative_prompt``, ``seed``,
        ``steps`` asked for, ``guidance_scale`` at the start); ``status``; ``done`` (steps
        recorded); ``its`` (steps per second of working time, pauses excluded); ``rate`` (steps per
        second that happened, a slow pace included); ``guidance`` per recorded step; ``knobs`` (each
        later knob's value per recorded step, by name); ``guidance_interval`` (``interval.recorded``);
        ``guider`` (a modular pipeline's, by class name); ``prompts`` (the prompt edits applied:
        first step, 0-based, prompt, negative_prompt); ``holds`` (the step counts it was started to
        hold at); ``saved`` (where Save gallery last wrote it, or ``""``); ``source`` (``run`` or
        ``gallery <folder>``); ``parent`` and ``branch_step`` for a branch (else ``None``)."""
        out = []
        with self._lock:
            records = list(self._records.items())
        for key, record in records:
            p = record.params
            if isinstance(record, Run):
                steps = list(record.steps)  # one consistent length while the run appends
                status, source, name = record.status.value, "run", f"#{key}"
                guidance, durations = [s.guidance for s in steps], [s.duration for s in steps]
                prompts, holds = [dict(c) for c in record.prompts], sorted(record.plan.pause_at)
                pace, knobs = rate([s.elapsed for s in steps]), knob_curves(record, steps)
            else:
                folder = record.folder.name if record.folder else ""
                status, source = record.status, f"gallery {folder}".strip()
                name = f"gallery {folder or -key}"
                guidance, durations = list(record.guidance), [s["duration"] for s in record.steps]
                prompts, holds, pace, knobs = [dict(c) for c in record.prompts], [], 0.0, knob_curves(record)
            out.append({
                "key": key, "name": name, "prompt": p["prompt"], "negative_prompt": p.get("negative_prompt") or "",
                "seed": p["seed"], "steps": p["num_inference_steps"], "guidance_scale": p.get("guidance_scale"),
                "status": status, "done": len(guidance), "its": round(speed(durations), 3), "rate": round(pace, 3),
                "guidance": guidance, "knobs": knobs, "guidance_interval": recorded(p),
                "prompts": prompts, "holds": holds, "saved": self._saved.get(key, ""), "source": source,
                "parent": p.get("parent"), "branch_step": p.get("branch_step"), "guider": p.get("guider"),
            })  # fmt: skip
        names = [entry["name"] for entry in out]
        for entry in out:  # two galleries loaded from folders of one name: tell them apart by key
            if names.count(entry["name"]) > 1:
                entry["name"] = f"{entry['name']} ({-entry['key']})"
        return out

    def save(self, key: int, folder: str | Path) -> Path:
        """Write ``key``'s gallery into a new, generated sub-folder of ``folder``; a second save
        of one run within a second gets ``-2``, ``-3``, … rather than a refusal to overwrite."""
        record = self[key]
        gallery = Gallery.from_run(record) if isinstance(record, Run) else record
        base = Path(folder) / gallery_name(record)
        names = itertools.chain([base], (base.with_name(f"{base.name}-{n}") for n in itertools.count(2)))
        target = next(path for path in names if not path.exists())
        if target.resolve().parent != Path(folder).resolve():
            raise ValueError(f"refusing to write {target}: galleries are written directly inside {folder}")
        path = gallery.save(target)
        with self._lock:
            self._saved[key] = str(Path(folder) / path.name)
        return path
