"""``sweep()``: the whole job, in one process or in each of the K that ``accelerate launch`` starts.

Every process runs this same function on the same inputs. The order of a run, and why:

1. All check every input (source, seeds, prompts, model location, output folder); the refusals
   of all processes are gathered (``group.agree``), so a model missing on node 2 stops every
   process with one message naming node 2, before anything is loaded or written.
2. The main process takes the folder's lock (``sweep.lock``: a second launch into the folder is
   refused while it is held, before any model loads); all agree.
3. All load the model, each onto its own device; a load that fails anywhere stops all (agreed),
   before anything but the lock is written. Then the main process writes ``sweep.json`` and
   clears stale temp files.
4. The main process alone lists the items already done and broadcasts them; every process
   takes every K-th batch with a pending item from that one list (``share``; a batch is one
   item unless ``batch`` > 1), so each item has one owner and no file two writers, whatever
   each node's view of the folder.
5. Each renders its share, writing each item as it finishes (a resumed sweep skips it; a batch
   partly done is rendered whole, as planned, and only its pending items are written).
6. The records are gathered to the main process, which checks that every item's record is in
   the folder it sees, merges ``runs.jsonl`` and draws ``grid.png``; if items are missing it
   writes neither and every process raises ``SweepIncomplete`` naming them (run again to resume).

Determinism: an item's noise comes from its own seed (a CPU generator, as the runner seeds
every run), and on the CPU each process computes on ``threads`` threads (default 1) whatever
the number of processes, so a K-process sweep gives the bytes of a 1-process one. A batch's
images come from one pipeline call with a generator per seed: the same batch gives the same bytes,
but not those of its seeds rendered one at a time (float rounding: the batched calls sum otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from . import group as groups
from . import images, prepare
from .grid import write_grid
from .lock import FolderLock
from .plan import SweepPlan
from .progress import Progress, Reporter
from .render import render


class SweepIncomplete(RuntimeError):
    """Items of the sweep have no record in the folder the main process sees (``missing``)."""

    def __init__(self, missing: list[str], total: int, unseen: int) -> None:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        why = (
            f"{unseen} of them were rendered by another process but are not in the folder here: is --out one "
            "folder shared by every node?"
            if unseen
            else "a process ended without rendering them"
        )
        super().__init__(
            f"{len(missing)} of {total} items have no record in the output folder as the main process sees it "
            f"({shown}); {why} Run the same command again to render what is missing."
        )
        self.missing = missing


def share(plan: SweepPlan, done: set[int], rank: int, size: int) -> Iterator[range]:
    """This process's batches (their item indices): every ``size``-th one with a pending item
    from ``rank``, computed, not listed."""
    return plan.pending(done, rank, size)


def sweep(
    source: Any,
    *,
    seeds: Any,
    out: str | os.PathLike,
    prompts: Any = None,
    steps: int | None = None,
    model: Any = None,
    prompt_edits: bool = True,
    dtype: Any = None,
    variant: str | None = None,
    revision: str | None = None,
    threads: int | None = 1,
    batch: int = 1,
    progress: bool = True,
    callback: Callable[[Progress], Any] | None = None,
) -> list[dict[str, Any]]:
    """Replay ``source``'s recorded guidance curve (and prompt edits) for every (prompt, seed)
    pair into ``out``; returns every item's record, in item order (prompt-major).

    ``source``: a ``Gallery``, ``Run``, gallery folder, ``run.json`` or sweep record. ``seeds``:
    ``"0:200"``, ``range(200)``, a list. ``prompts``: a list, or a ``pathlib.Path`` to a text
    file of one prompt a line (default: the recorded prompt). ``steps``: another step count (the
    curve is stretched). ``model``: a folder, hub id or pipeline (default: the one recorded).
    ``prompt_edits``: replay the recorded prompt edits on every prompt (else drop them).
    ``dtype``: float32, float16 or bfloat16 (default: the run's recorded dtype, a given pipeline's,
    the variant's, else float32); ``variant`` (``"fp16"``) and ``revision`` (a hub id's) pick weights.
    ``threads``: torch CPU threads per process (``None``: the runner's choice). ``batch``: render
    up to this many seeds of a prompt in one pipeline call (a GPU's throughput; a batch's images
    differ from single runs by float rounding, and replay exactly as that batch). ``progress``:
    one line on stderr from the main process, all processes counted; ``callback(progress)``
    after every item of this process (``progress.line`` is that text).
    Bad input raises ``SweepError`` before any work. Under ``accelerate launch`` every process
    calls this and renders its share of the items. An interrupted sweep, run again, resumes.
    ``SweepIncomplete``: items came back from no process (the main process's records are
    written, ``runs.jsonl`` and the grid are not).
    """
    group = groups.process_group()
    plan, folder = groups.agree(
        group,
        lambda: prepare.plan(
            source, seeds, out, prompts, steps, model, prompt_edits, dtype, threads, group, variant, revision, batch
        ),
    )
    groups.agree(group, lambda: prepare.alike(group, plan))
    lock = FolderLock(folder.path)
    try:
        groups.agree(group, lambda: lock.acquire() if group.rank == 0 else None)
        runner = groups.agree(group, lambda: prepare.runner(model, plan, group, threads))
        if group.rank == 0:  # the model loads everywhere before anything is written but the lock
            folder.claim(plan.identity())
            images.write(folder.path, plan.source.inputs)
        group.barrier()
        done: set[int] = group.broadcast(folder.done(plan) if group.rank == 0 else None)
        worker = {"rank": group.rank, "processes": group.size, "device": str(group.device)}
        status = Progress(group.rank, group.size, plan.total - len(done), skipped=len(done))
        reporter = Reporter(status, folder.path, progress, callback)
        mine: list[str] = []
        try:
            for indices in share(plan, done, group.rank, group.size):
                items = list(plan.items(indices))
                for item, rendered in zip(items, render(runner, plan, items, worker), strict=True):
                    if item.index not in done:
                        folder.write(item, rendered.png, rendered.record)
                        mine.append(item.name)
                        reporter.item(failed=rendered.png is None)
            # Gathered: every process's items are written before the main process looks, and it
            # knows which ones another process rendered, to tell a lost item from an unshared folder.
            gathered = group.gather(mine)
        finally:
            reporter.close()
        rendered_by_others = {name for rank, names in enumerate(gathered) if rank for name in names}
        records: list[dict[str, Any]] = []
        missing: tuple[list[str], int] = ([], 0)
        if group.rank == 0:
            records, absent = folder.collect(plan)
            names = [item.name for item in absent]
            missing = (names, sum(name in rendered_by_others for name in names))
            if not names:
                folder.merge(records)
                write_grid(folder, records, len(plan.seeds))
        missing = group.broadcast(missing)
        if missing[0]:
            raise SweepIncomplete(missing[0], plan.total, missing[1])
        return records if group.rank == 0 else folder.collect(plan)[0]
    finally:
        lock.release()
