"""Sweep records from strangers, shown in the widget: params are checked as a gallery's are, so a
crafted ``steps_run`` or ``pipe_kwargs`` is refused when the folder is added, naming the line and
field, rather than escaping a replay as AttributeError, MemoryError or OverflowError."""

import json
import shutil

import pytest

from sdwidget import Gallery, Runner, SamplerWidget, demo_pipeline, sweep
from sdwidget.widget.sweeps import Sweep


@pytest.fixture(scope="module")
def demo():
    return demo_pipeline()


@pytest.fixture(scope="module")
def swept(demo, tmp_path_factory):
    """A real 1 prompt × 2 seeds sweep of a 3-step demo run."""
    run = Runner(demo).generate("a red circle on a black background", num_inference_steps=3, seed=1)
    source = Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")
    out = tmp_path_factory.mktemp("sweeps") / "sweep"
    records = sweep(source, seeds="3:5", out=out, model=demo, progress=False)
    assert [r["status"] for r in records] == ["finished", "finished"]
    return out, records


def crafted(swept, tmp_path, **params):
    """A copy of the sweep whose first record's params carry ``params``."""
    out, records = swept
    folder = shutil.copytree(out, tmp_path / "crafted")
    first = {**records[0], "params": {**records[0]["params"], **params}}
    (folder / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [first, *records[1:]]))
    return folder


HOSTILE: dict[str, tuple[dict, str]] = {
    "pipe_kwargs a list": ({"pipe_kwargs": [1, 2]}, "params.pipe_kwargs: Input should be a valid dictionary"),
    "pipe_kwargs a string": ({"pipe_kwargs": "eta=1"}, "params.pipe_kwargs: Input should be a valid dictionary"),
    "steps_run 10**10": ({"steps_run": 10**10}, "params.steps_run: Input should be less than or equal to 1999"),
    "steps_run 10**20": ({"steps_run": 10**20}, "params.steps_run: Input should be less than or equal to 1999"),
    "steps_run 10**8": ({"steps_run": 10**8}, "params.steps_run: Input should be less than or equal to 1999"),
    "steps_run 0": ({"steps_run": 0}, "params.steps_run: Input should be greater than or equal to 1"),
    "steps_run a float": ({"steps_run": 3.0}, "params.steps_run: Input should be a valid integer"),
    "a pipeline argument named as a path": ({"pipe_kwargs": {"../eta": 1}}, "params.pipe_kwargs.../eta.[key]"),
    "no scheduler": ({"scheduler": None}, "params.scheduler: Input should be a valid string"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_crafted_record_is_refused_when_the_sweep_is_added(swept, tmp_path, demo, case):
    params, text = HOSTILE[case]
    folder = crafted(swept, tmp_path, **params)
    with pytest.raises(ValueError) as raised:
        Sweep(folder)
    assert type(raised.value) is ValueError
    message = str(raised.value)
    assert message.startswith(f"{folder}/runs.jsonl line 1 is not a sweep record: params are not a run's parameters")
    assert text in message, message
    widget = SamplerWidget(demo, pace=0)
    with pytest.raises(ValueError):
        widget.add_sweep(folder)
    assert widget.message == f"Could not add the sweep: {message}" and widget.sweep == {}
    assert widget.runner is not None and widget.runner.run is None, "nothing was replayed"


def test_the_untouched_sweep_still_adds_and_its_records_keep_their_params(swept, demo):
    out, records = swept
    shown = Sweep(out)
    assert sorted(shown.items) == [0, 1]
    assert shown.items[1].params == records[1]["params"] and shown.items[1].params["steps_run"] == 3
    widget = SamplerWidget(demo, pace=0)
    widget.add_sweep(out)
    run = widget.replay_sweep(1)
    assert run.wait(60) and run.status.value == "finished" and run.params["seed"] == 4
