"""The README's Python examples run as written, in order, on the demo model (as a user pastes them).

A person reads the widget before typing the next line: a line commented "while held" is run once
the run has held again (a ``paused`` status event the line has not used yet), as they would.
"""

import ast
import re
import threading
from pathlib import Path

import numpy as np

from sdwidget import RunStatus

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


class Reader:
    """Executes README blocks statement by statement in one namespace, waiting for holds."""

    def __init__(self) -> None:
        self.space: dict = {}
        self.holds = threading.Semaphore(0)
        self.watched: set[int] = set()

    def _on(self, event) -> None:
        if getattr(event, "status", None) is RunStatus.PAUSED:
            self.holds.release()

    def run(self, code: str, name: str) -> None:
        lines = code.splitlines()
        for node in ast.parse(code).body:
            source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if "# while held" in source:
                assert self.holds.acquire(timeout=120), f"{name}: the run never held before {source!r}"
            exec(compile(ast.Module([node], []), name, "exec"), self.space)
            runner = self.space.get("runner")
            if runner is not None and id(runner) not in self.watched:
                self.watched.add(id(runner))
                runner.observe(self._on)


def test_every_python_example_runs_and_does_what_its_comments_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, reader = blocks(), Reader()
    assert len(code) == 5
    space = reader.space
    reader.run(code[0], "README block 1")
    run = space["run"]
    assert run.status.value == "finished" and len(run.frames) == 30
    held = run.guidance.index(0.8)  # one step at 0.8 (CFG off), then 9.0 to the end
    assert run.guidance[:held] == [5.0] * held and run.guidance[held + 1 :] == [9.0] * (29 - held)

    reader.run(code[1], "README block 2")
    run, child = space["run"], space["child"]
    assert run.prompts == [{"step": 12, "prompt": "a small red ring on a white background", "negative_prompt": None}]
    assert run.guidance[12] == 1.0 and run.guidance[13] == 1.0 and run.guidance[30] == 8.0
    assert (child.params["parent"], child.params["branch_step"]) == (run.id, 12)
    assert child.status.value == "finished" and child.guidance[12] == 7.5

    reader.run(code[2], "README block 3")
    run, look = space["run"], space["look"]
    assert not look.applied and look.step == 12 and run.guidance[12] == 9.0 and run.guidance[:12] == [5.0] * 12
    effect = run.guidance_effect()
    assert len(effect) == 40 and all(value > 0 for value in effect)

    reader.run(code[3], "README block 4")
    assert (tmp_path / "galleries" / "lighthouse" / "run.json").is_file()
    assert np.array_equal(np.asarray(space["again"].image), np.asarray(space["run"].image))

    reader.run(code[4], "README block 5")
    assert (space["run"].params["height"], space["run"].params["steps_run"]) == (64, 16)
    assert len(space["batch"].images) == 4
