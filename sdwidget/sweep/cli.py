"""``python -m sdwidget sweep``: the command line of ``sweep()``; the same under ``accelerate launch``.

    python -m sdwidget sweep GALLERY_OR_RUN_JSON --seeds 0:200 [--prompts prompts.txt] \\
        [--steps N] [--model PATH] [--batch N] --out DIR
    accelerate launch --multi_gpu --num_processes K -m sdwidget sweep ...   # K processes, K devices

On a machine without GPUs ``--multi_gpu`` still starts K processes (torchrun's launcher) and
each renders on the CPU; ``accelerate launch --cpu`` starts a single process unless MPI is set
up (``--mpirun_hostfile``). Bad input (in any process), or a folder another sweep holds, exits
with status 2 and one line on stderr, before any work; items missing at the end exit with
status 3 and one line naming them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import group as groups
from .inputs import SweepError
from .job import SweepIncomplete, sweep
from .weights import DTYPES


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
    p.add_argument("--dtype", choices=list(DTYPES), help="default: the run's, else the --variant's, else float32")
    p.add_argument("--variant", help="load the model's weights of this variant (fp16: DIR/unet/*.fp16.safetensors)")
    p.add_argument("--revision", help="a hub id's branch, tag or commit (already in the Hugging Face cache)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (default 1: use processes)")
    p.add_argument(
        "--batch", type=int, default=1,
        help="seeds of a prompt per pipeline call (default 1); a batch's images differ from single runs by float "
        "rounding and replay exactly as that batch",
    )  # fmt: skip
    p.add_argument("--drop-prompt-edits", action="store_true", help="do not replay the recorded prompt edits")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sweep from command-line arguments; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        records = sweep(
            args.source, seeds=args.seeds, prompts=args.prompts, out=args.out, steps=args.steps, model=args.model,
            prompt_edits=not args.drop_prompt_edits, dtype=args.dtype, variant=args.variant, revision=args.revision,
            threads=args.threads, batch=args.batch,
            progress=not args.no_progress,
        )  # fmt: skip
    except SweepError as exc:  # every process has it (refusals are gathered); the main one says it
        return _say(f"sdwidget sweep: error: {exc}", 2)
    except SweepIncomplete as exc:
        return _say(f"sdwidget sweep: incomplete: {exc}", 3)
    if groups.process_group().rank == 0:
        failed = sum(1 for r in records if not r.get("image"))
        out = Path(args.out)
        print(f"sweep: {len(records)} items, {failed} failed; {out / 'grid.png'}, {out / 'runs.jsonl'}")
    return 0


def _say(line: str, status: int) -> int:
    """One line from the main process, and the status every process exits with. Under
    ``accelerate launch`` (torchrun) the launcher then exits 1 with its own report, whose "Root
    Cause" shows each worker's error file: ours holds the same line, not a Python traceback."""
    if groups.process_group().rank == 0:
        print(line, file=sys.stderr, flush=True)
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if error_file:
        shown = {"message": line, "extraInfo": {"py_callstack": line, "timestamp": str(int(time.time()))}}
        with contextlib.suppress(OSError), open(error_file, "w") as file:
            json.dump({"message": shown}, file)
    return status
