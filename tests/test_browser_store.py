"""What the browser keeps and is given, without a browser: the per-model frame store run in node
from the ES module sources (one store per model however many views, final images kept per run,
runs that leave the kernel's history evicted from the page's memory), and the history entries and
speed the kernel gives it (each run's own parameters; pauses left out of it/s)."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sdwidget import RunStatus, SamplerWidget

SRC = Path(__file__).resolve().parent.parent / "js" / "src"

SCRIPT = """
const { initialize, stateOf } = await import(process.env.MODEL_URL);
const handlers = new Map(), sent = [];
const attrs = { run_id: 0, runs: [], status: "idle", image: new DataView(new ArrayBuffer(0)) };
const model = {
  get: (key) => attrs[key],
  send: (msg) => sent.push(msg),
  on: (name, fn) => (handlers.get(name) ?? handlers.set(name, new Set()).get(name)).add(fn),
  off: (name, fn) => handlers.get(name)?.delete(fn),
};
// What the kernel's update message does: set every trait, then announce each change.
const set = (changes) => {
  Object.assign(attrs, changes);
  for (const name of Object.keys(changes)) [...(handlers.get(`change:${name}`) ?? [])].forEach((fn) => fn());
};
const deliver = (type, run, steps, final = false) => {
  const frames = steps.map((step) => ({ run, step, total: 4, guidance: 5, cfg: true, duration: 0.01, t: null }));
  const msg = type === "history" ? { type, run, frames, ...(final ? { final } : {}) } : { type, frames };
  const buffers = steps.map(() => new Uint8Array([137, 80]));
  if (final) buffers.push(new Uint8Array([137, 80, 78, 71, 13]));
  [...(handlers.get("msg:custom") ?? [])].forEach((fn) => fn(msg, buffers));
};
const runs = (...keys) => keys.map((key) => ({ key, name: `#${key}` }));
const keys = (store) => [...store.keys()].sort((a, b) => a - b);
const out = {};

const cleanup = initialize({ model });
const { store } = stateOf(model);
set({ run_id: 1, runs: runs(1), status: "running" });
deliver("frames", 1, [0, 1, 2, 3]);
set({ status: "finished", image: new DataView(new Uint8Array([137, 80, 78, 71]).buffer) });
out.final1 = store.final(1)?.size ?? null;
out.count1 = store.count(1);
// Run 2 starts: its frames arrive before the trait update that names it.
deliver("frames", 2, [0, 1]);
set({ run_id: 2, runs: runs(1, 2), status: "running", image: new DataView(new ArrayBuffer(0)) });
out.afterStart = keys(store);
deliver("history", -1, [0, 1]);
set({ runs: [...runs(1, 2), { key: -1, name: "gallery g" }] });
out.withGallery = keys(store);
// The history keeps two runs: run 1 and the gallery leave it, and the page's memory.
deliver("frames", 3, [0]);
set({ run_id: 3, runs: runs(2, 3), status: "running" });
out.afterEviction = keys(store);
out.final1After = store.final(1);
out.sameStore = stateOf(model).store === store;
// A history reply that carries the run's final image after its frames (`final: true`).
deliver("history", 2, [0, 1, 2, 3], true);
out.final2 = store.final(2)?.size ?? null;
out.count2 = store.count(2);
out.acks = sent.filter((m) => m.type === "ack").map((m) => m.run);
cleanup();
out.handlersLeft = [...handlers.values()].reduce((n, set) => n + set.size, 0);
console.log(JSON.stringify(out));
"""


def test_store_keeps_finals_and_evicts_runs_that_left_the_history():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    env = {"MODEL_URL": (SRC / "model.js").as_uri(), "PATH": str(Path(node).parent)}
    done = subprocess.run([node, "--input-type=module", "-e", SCRIPT], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["final1"] == 4 and out["count1"] == 4, "the finished run's final image is kept by its key"
    assert out["afterStart"] == [1, 2], "a run whose frames come before its listing is kept"
    assert out["withGallery"] == [-1, 1, 2]
    assert out["afterEviction"] == [2, 3], "runs and galleries no longer listed leave the store"
    assert out["final1After"] is None and out["sameStore"] is True
    assert out["final2"] == 5 and out["count2"] == 4, "a history reply's final image is kept apart from its steps"
    assert out["acks"] == [1, 2, 3], "one ack per live frames message, none for history replies"
    assert out["handlersLeft"] == 0, "initialize's cleanup removes every listener it added"


def test_history_entries_carry_each_runs_own_state_and_speed_leaves_pauses_out(sd_pipe):
    """What the browser shows of a run it is not following (``runs``) is that run's own, and the
    speed it shows (``its``, entries' ``its``) counts working time only: a pause does not slow it."""
    widget = SamplerWidget(sd_pipe)
    ack = {"type": "ack"}
    widget.send = lambda msg, buffers=None: (
        msg["type"] == "frames" and widget._on_message(widget, {**ack, "run": msg["frames"][0]["run"]}, [])
    )
    run = widget.runner.start("a red star", "blurry", num_inference_steps=6, seed=3, guidance_scale=4.0, pause_at=[2])
    deadline = time.monotonic() + 30
    while run.status is not RunStatus.PAUSED:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.5)
    run.resume()
    run.wait()
    while widget.status != "finished" or widget.runs[-1]["status"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    entry = widget.runs[-1]
    assert {k: entry[k] for k in ("key", "name", "prompt", "negative_prompt", "seed", "steps", "guidance_scale")} == {
        "key": run.id, "name": f"#{run.id}", "prompt": "a red star", "negative_prompt": "blurry", "seed": 3,
        "steps": 6, "guidance_scale": 4.0,
    }  # fmt: skip
    assert (entry["status"], entry["done"], entry["guidance"]) == ("finished", 6, [4.0] * 6)
    busy = sum(step.duration for step in run.steps)
    assert run.steps[-1].elapsed > busy + 0.4, "the run was paused for half a second"
    assert widget.its == pytest.approx(6 / busy) and entry["its"] == pytest.approx(6 / busy, rel=1e-2)
    widget.close()
