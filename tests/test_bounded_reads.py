"""Files of a sweep folder are sized before they are split or parsed: a runs.jsonl of millions of
short lines is refused on its record count with the lines counted as they are found (not split
into a list first), and a resumed sweep.json is read within a size limit."""

import json
import os
import tracemalloc

import pytest

from sdwidget.sweep import SweepError, load_records
from sdwidget.sweep.folder import SweepFolder
from sdwidget.widget.sweeps import MAX_ITEMS, Sweep


def traced_peak(fn):
    """(fn's exception, the peak of Python allocations while it ran, in MiB)."""
    tracemalloc.start()
    caught: Exception | None = None
    try:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - returned for the test to check
            caught = exc
        return caught, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture
def folder(tmp_path):
    """A folder that looks like a finished sweep up to its records (the count is checked before the grid)."""
    (tmp_path / "sweep.json").write_text(json.dumps({"format": "sdwidget-sweep"}))
    (tmp_path / "grid.json").write_text("{}")
    (tmp_path / "grid.png").write_bytes(b"not read before the records")
    return tmp_path


def test_millions_of_short_lines_are_refused_on_their_count_without_a_list_of_them(folder):
    (folder / "runs.jsonl").write_bytes(b"1\n" * (30 << 20))  # 60 MiB: 31 million one-byte records
    error, peak = traced_peak(lambda: Sweep(folder))
    assert isinstance(error, ValueError) and type(error) is ValueError
    assert str(error) == f"{folder}/runs.jsonl holds more than {MAX_ITEMS} records; a sweep has 1 to {MAX_ITEMS}"
    assert peak < 200, f"peak {peak:.0f} MiB traced: the lines were split into a list"


def test_blank_lines_are_skipped_and_counted_as_no_records(folder):
    (folder / "runs.jsonl").write_bytes(b"\n  \n" * (10 << 20))
    error, peak = traced_peak(lambda: Sweep(folder))
    assert str(error) == f"{folder}/runs.jsonl holds 0 records; a sweep has 1 to {MAX_ITEMS}"
    assert peak < 200, f"peak {peak:.0f} MiB traced"


def test_load_records_refuses_millions_of_records_without_parsing_them_all(tmp_path):
    (tmp_path / "runs.jsonl").write_bytes(b"{}\n" * (20 << 20))  # 60 MiB of empty records
    error, peak = traced_peak(lambda: load_records(tmp_path))
    assert type(error) is ValueError and "runs.jsonl holds more than 100000 records" in str(error)
    assert peak < 200, f"peak {peak:.0f} MiB traced"


def test_load_records_says_which_line_is_not_a_record(tmp_path):
    (tmp_path / "runs.jsonl").write_text('{"item": 0}\n\n' + "[" * 100_000 + "\n")
    with pytest.raises(ValueError, match=r"runs.jsonl line 2 is not a JSON record"):
        load_records(tmp_path)
    (tmp_path / "runs.jsonl").write_text('{"item": 0}\n[1]\n')
    with pytest.raises(ValueError, match=r"runs.jsonl line 2 is not a JSON record \(it holds a list\)"):
        load_records(tmp_path)


def test_a_huge_sparse_sweep_json_of_a_resumed_folder_is_refused_by_its_size(tmp_path):
    with open(tmp_path / "sweep.json", "wb") as file:
        file.truncate(1 << 30)  # 1 GiB, sparse: costs no disk, only whoever reads it all
    error, peak = traced_peak(lambda: SweepFolder(tmp_path).check({"format": "sdwidget-sweep"}))
    assert isinstance(error, SweepError), error
    assert str(error).startswith(f"{tmp_path / 'sweep.json'} cannot be read (sweep.json is larger than 8 MiB)")
    assert peak < 50, f"peak {peak:.0f} MiB traced: the file was read whole"
    assert os.path.getsize(tmp_path / "sweep.json") == 1 << 30, "nothing written"
