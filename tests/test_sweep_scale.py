"""Sweeps at scale (issue #28): huge sweeps planned lazily, several processes sharing one folder
(simulated by threads, each a rank with its own model and its own view of the folder), refusals
from any rank, the folder lock."""

import json
import os
import random
import socket
import subprocess
import sys
import threading
import tracemalloc

import pytest
import torch

from sdwidget import Gallery, Runner, demo_pipeline
from sdwidget.sweep import SweepError, SweepIncomplete, group, main, sweep
from sdwidget.sweep.folder import SweepFolder
from sdwidget.sweep.inputs import parse_seeds
from sdwidget.sweep.seeds import overlap


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    run = Runner(demo_pipeline()).generate("a red circle on a black background", num_inference_steps=2, seed=1)
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")


def stop_after(items):
    def stop(progress):
        if progress.done == items:
            raise KeyboardInterrupt

    return stop


class ThreadGroup:
    """``size`` ranks as threads of this process, with the collectives a sweep uses."""

    def __init__(self, size):
        self.size, self.local = size, threading.local()
        self.barrier_ = threading.Barrier(size, timeout=120)
        self.slots = [None] * size

    def member(self, rank):
        outer = self

        class Member:
            device, on_cpu = torch.device("cpu"), True

            def __init__(self):
                self.rank, self.size = rank, outer.size

            def barrier(self):
                outer.barrier_.wait()

            def gather(self, value):
                outer.slots[rank] = value
                outer.barrier_.wait()
                out = list(outer.slots)
                outer.barrier_.wait()
                return out

            def broadcast(self, value):
                return self.gather(value)[0]

        return Member()

    def run(self, monkeypatch, target):
        """``target(rank)`` in ``size`` threads, each seeing its own group member; results by rank."""
        monkeypatch.setattr(group, "process_group", lambda: self.local.member)
        from sdwidget.sweep import prepare

        loading, load = threading.Lock(), prepare.runner

        def one_load_at_a_time(*args):  # loading patches torch globally (meta tensors): not thread-safe
            with loading:
                return load(*args)

        monkeypatch.setattr(prepare, "runner", one_load_at_a_time)
        results, errors = [None] * self.size, [None] * self.size

        def body(rank):
            self.local.member = self.member(rank)
            try:
                results[rank] = target(rank)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors[rank] = exc
                if not isinstance(exc, SweepError | SweepIncomplete):  # those every rank raises alike
                    self.barrier_.abort()

        threads = [threading.Thread(target=body, args=(rank,)) for rank in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        return results, errors


def test_seed_ranges_overlap_exactly_as_listed_seeds_do():
    rng = random.Random(0)
    for _ in range(3000):
        a = range(rng.randint(-5, 30), rng.randint(-5, 60), rng.choice([1, 2, 3, 5, 6, -1, -4]))
        b = range(rng.randint(-5, 30), rng.randint(-5, 60), rng.choice([1, 2, 4, 6, 9, -2, -3]))
        if len(a) and len(b):
            assert overlap(a, b) == bool(set(a) & set(b)), (a, b)
    seeds = parse_seeds("7,0:1000000000000:3,2")
    assert len(seeds) == 333_333_333_336 and seeds[1] == 0 and seeds[-1] == 2 and seeds.position(2) == len(seeds) - 1
    with pytest.raises(SweepError, match="given twice"):
        parse_seeds("0:10**9:3".replace("10**9", "1000000000") + ",999999999")


def test_a_sweep_of_two_million_items_costs_the_memory_of_one_of_twenty(gallery, tmp_path):
    """Before: every item was listed (and every record file tried) before the first image:
    ~1.5 GB for 10^8 items, and sweep.json listed every seed."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"prompt number {i}\n" for i in range(20)))
    model = demo_pipeline()

    def peak(seeds, out):
        tracemalloc.start()
        try:
            for _ in range(2):  # the second call resumes: the done items are listed, not all tried
                with pytest.raises(KeyboardInterrupt):
                    sweep(gallery, seeds=seeds, prompts=prompts, out=out, model=model, steps=1, progress=False,
                          callback=stop_after(1))  # fmt: skip
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, huge = peak("0:1", tmp_path / "small"), peak("0:100000", tmp_path / "huge")
    assert huge - small < 1 << 20, f"{small >> 20} MiB for 20 items, {huge >> 20} MiB for 2 million"
    assert (tmp_path / "huge" / "sweep.json").stat().st_size < 16 << 10
    identity = json.loads((tmp_path / "huge" / "sweep.json").read_text())
    assert identity["seeds"] == {"ranges": [[0, 100000, 1]], "count": 100000}
    assert sorted(p.name for p in (tmp_path / "huge" / "records").iterdir()) == ["p000-s0.json", "p000-s1.json"]


def test_two_processes_split_the_main_process_pending_list_and_it_gathers_them(gallery, tmp_path, monkeypatch):
    out = tmp_path / "shared"
    with pytest.raises(KeyboardInterrupt):  # an earlier sweep did two items
        sweep(gallery, seeds="0:6", out=out, model=demo_pipeline(), steps=2, progress=False, callback=stop_after(2))
    blind = SweepFolder.record

    def rank1_sees_nothing(self, item):  # node 2's view of the folder: stale, empty
        return None if group.process_group().rank == 1 else blind(self, item)

    monkeypatch.setattr(SweepFolder, "record", rank1_sees_nothing)
    models = [demo_pipeline(), demo_pipeline()]
    two = ThreadGroup(2)
    results, errors = two.run(monkeypatch, lambda rank: sweep(
        gallery, seeds="0:6", out=out, model=models[rank], steps=2, progress=False))  # fmt: skip
    assert errors == [None, None], errors
    records = results[0]
    assert [r["seed"] for r in records] == [0, 1, 2, 3, 4, 5]
    by_rank = {r["name"]: r["timings"]["rank"] for r in records if "rank" in r["timings"]}
    assert [by_rank[f"p000-s{s}"] for s in range(2, 6)] == [0, 1, 0, 1], "every other pending item, once each"
    assert (out / "runs.jsonl").read_text().count("\n") == 6 and not (out / "sweep.lock").exists()


def test_items_that_come_back_from_no_process_fail_the_sweep_by_name(gallery, tmp_path, monkeypatch, capsys):
    out, elsewhere = tmp_path / "main-view", tmp_path / "node2-disk"
    write = SweepFolder.write

    def node2_writes_its_own_disk(self, item, png, record):
        if group.process_group().rank == 1:
            self = SweepFolder(elsewhere)
            self.images.mkdir(parents=True, exist_ok=True), self.records.mkdir(exist_ok=True)
        write(self, item, png, record)

    monkeypatch.setattr(SweepFolder, "write", node2_writes_its_own_disk)
    argv = [str(gallery), "--seeds", "0:4", "--steps", "2", "--out", str(out), "--no-progress"]
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: main(argv))
    assert errors == [None, None] and results == [3, 3], (results, errors)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "2 of 4 items have no record" in err and "p000-s1, p000-s3" in err and "shared by every node" in err
    assert not (out / "runs.jsonl").exists() and not (out / "grid.png").exists() and not (out / "sweep.lock").exists()
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: sweep(
        gallery, seeds="0:4", steps=2, out=out, progress=False))  # fmt: skip
    # Resumed: s0 and s2 are done; rank 0 renders s1 into the folder, rank 1 s3 elsewhere again.
    assert all(isinstance(e, SweepIncomplete) and e.missing == ["p000-s3"] for e in errors), errors


def test_any_process_refusal_stops_all_with_one_line_naming_it(gallery, tmp_path, monkeypatch, capsys):
    from sdwidget.sweep import prepare

    real = prepare.locate

    def node2_lacks_the_model(model, params, *weights):
        if group.process_group().rank == 1:
            raise SweepError("the model the run records, 'demo', cannot be found")
        return real(model, params, *weights)

    monkeypatch.setattr(prepare, "locate", node2_lacks_the_model)
    out = tmp_path / "out"
    argv = [str(gallery), "--seeds", "0:4", "--out", str(out), "--no-progress"]
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: main(argv))
    assert errors == [None, None] and results == [2, 2], (results, errors)
    err = capsys.readouterr().err
    assert (
        err == f"sdwidget sweep: error: process 1 of 2 on {socket.gethostname()}: the model the run records, "
        "'demo', cannot be found\n"
    )
    assert not out.exists(), "nothing written"


def test_a_second_sweep_into_a_held_folder_is_refused_while_the_first_goes_on(gallery, tmp_path, capsys):
    out = tmp_path / "busy"
    second = []

    def launch_another(progress):
        if progress.done == 1:
            second.append(main([str(gallery), "--seeds", "0:3", "--steps", "2", "--out", str(out), "--no-progress"]))

    records = sweep(gallery, seeds="0:3", out=out, model=demo_pipeline(), steps=2, progress=False,
                    callback=launch_another)  # fmt: skip
    err = capsys.readouterr().err
    assert second == [2] and err.count("\n") == 1 and "is in use by another sweep" in err, err
    assert f"process {os.getpid()} on {socket.gethostname()}" in err and "sweep.lock" in err
    assert len(records) == 3 and not (out / "sweep.lock").exists(), "released at the end"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / "sweep.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout)}))
    assert len(sweep(gallery, seeds="0:3", out=out, model=demo_pipeline(), steps=2, progress=False)) == 3, "stale"
    (out / "sweep.lock").write_text(json.dumps({"host": "node-7", "pid": 12, "user": "ana", "started": "today"}))
    with pytest.raises(SweepError, match=r"process 12 on node-7 \(user ana, since today\) holds sweep.lock"):
        sweep(gallery, seeds="0:3", out=out, model=demo_pipeline(), steps=2, progress=False)


def test_under_a_launcher_the_root_cause_is_the_refusal_not_a_traceback(gallery, tmp_path, monkeypatch, capsys):
    """torchrun's report (accelerate launch exits 1 under it) shows each worker's error file."""
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(tmp_path / "error.json"))
    assert main([str(gallery), "--seeds", "5:2", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    line = capsys.readouterr().err.strip()
    written = json.loads((tmp_path / "error.json").read_text())["message"]
    assert written["message"] == written["extraInfo"]["py_callstack"] == line and "5:2 is empty" in line
