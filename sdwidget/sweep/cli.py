"""``python -m sdwidget sweep``: the command line of ``sweep()``; the same under ``accelerate launch``.

    python -m sdwidget sweep GALLERY_OR_RUN_JSON --seeds 0:200 [--prompts prompts.txt] \\
        [--steps N] [--model PATH] --out DIR
    accelerate launch --multi_gpu --num_processes K -m sdwidget sweep ...   # K processes, K devices

On a machine without GPUs ``--multi_gpu`` still starts K processes (torchrun's launcher) and
each renders on the CPU; ``accelerate launch --cpu`` starts a single process unless MPI is set
up (``--mpirun_hostfile``). Bad input exits with status 2 and one line on stderr, before any work.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .inputs import SweepError
from .job import sweep
from .model import DTYPES


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sdwidget sweep",
        description="Replay a hand-steered run's guidance curve (and prompt edits) over many seeds and prompts.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes DIR/images/*.png, DIR/records/*.json, DIR/runs.jsonl, DIR/grid.png; run again to resume.",
    )
    p.add_argument("source", help="a gallery folder, a gallery's run.json or a sweep's record JSON")
    p.add_argument("--seeds", required=True, help="0:200 (stop excluded), 7, or 1,5,10:20")
    p.add_argument("--prompts", type=Path, help="a UTF-8 text file, one prompt a line (default: the recorded prompt)")
    p.add_argument("--steps", type=int, help="steps per image (default: the recorded count; the curve is stretched)")
    p.add_argument("--model", help="a pipeline folder or cached hub id (default: the model the run records)")
    p.add_argument("--out", required=True, help="the sweep's folder (created; an interrupted sweep there resumes)")
    p.add_argument("--dtype", choices=list(DTYPES), default="float32")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (default 1: use processes)")
    p.add_argument("--drop-prompt-edits", action="store_true", help="do not replay the recorded prompt edits")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sweep from command-line arguments; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        records = sweep(
            args.source, seeds=args.seeds, prompts=args.prompts, out=args.out, steps=args.steps, model=args.model,
            prompt_edits=not args.drop_prompt_edits, dtype=args.dtype, threads=args.threads,
            progress=not args.no_progress,
        )  # fmt: skip
    except SweepError as exc:
        if os.environ.get("RANK", "0") == "0":  # every process of a launch finds it; one says it
            print(f"sdwidget sweep: error: {exc}", file=sys.stderr)
        return 2
    from accelerate import PartialState

    if PartialState().is_main_process:
        failed = sum(1 for r in records if not r.get("image"))
        out = Path(args.out)
        print(f"sweep: {len(records)} items, {failed} failed; {out / 'grid.png'}, {out / 'runs.jsonl'}")
    return 0
