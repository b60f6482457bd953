// One view of the widget: controls, live preview, step scrubber, guidance curve, filmstrip,
// history and side-by-side comparison. Frames come from the model's store (model.js); every
// frame is kept, but only the newest is painted, once per animation frame, so a slow page
// never lags. The view only draws and forwards input; it never acks.

import { sparkline } from "./dom.js";
import { fillForm, fillRuns, showStatus } from "./form.js";
import { Filmstrip } from "./frames.js";
import { initialize, stateOf } from "./model.js";
import { controls, layout } from "./panel.js";

const DONE = ["finished", "stopped", "failed"];
const STATUS_TRAITS = ["status", "step", "total", "its", "error", "message", "applied", "image", "run_id", "saved",
  "saving", "has_model"];

export function render({ model, el }) {
  // A host that never called initialize (anywidget always does) still gets a working view.
  const ownInit = stateOf(model) ? null : initialize({ model });
  const { store, need, watch } = stateOf(model);
  const ui = controls();
  const { prompt, negative, steps, seed, guidance, guidanceValue, generate, pause, stop, image, other, scrub,
    stepLabel, pick, compare, save, curve } = ui;

  const stats = (window.sdwidgetStats ??= { latencies: [], paints: 0 });
  const strip = new Filmstrip((i) => {
    pinned = true;
    scrub.value = i + 1;
    schedule();
  });
  let viewKey = 0, stripKey = null, pinned = false, scheduled = 0; // scheduled: the pending rAF id
  const urls = new Map(); // img element → its blob URL, revoked when replaced

  const live = () => model.get("run_id");
  const shown = () => viewKey || live();
  const compareKey = () => Number(compare.value);
  const entry = (key) => model.get("runs").find((r) => r.key === key);
  const curveOf = (key) => (key === live() ? model.get("applied") : entry(key)?.guidance || []);

  function put(img, blob) {
    const url = URL.createObjectURL(blob);
    img.src = url;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }

  function paint() {
    scheduled = 0;
    const key = shown(), frames = store.get(key);
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    if (!frames.length) return;
    const index = Math.min(pinned ? Number(scrub.value) - 1 : frames.length - 1, frames.length - 1);
    const frame = frames[index];
    if (!frame) return;
    scrub.max = frames.length;
    if (!pinned) scrub.value = frames.length;
    const finalImage = key === live() && !pinned && DONE.includes(model.get("status")) && model.get("image").byteLength;
    put(image, finalImage ? new Blob([model.get("image")], { type: "image/png" }) : frame.blob);
    const cmp = compareKey(), theirs = store.get(cmp);
    other.hidden = !cmp;
    if (cmp && theirs.length) {
      put(other, theirs[Math.min(index, theirs.length - 1)].blob);
      el.dataset.compareStep = String(Math.min(index, theirs.length - 1) + 1);
    }
    stepLabel.textContent = `step ${index + 1}`;
    sparkline(curve, cmp ? [curveOf(key), curveOf(cmp)] : [curveOf(key)], index, Math.max(frames.length, frame.total));
    strip.sync(frames, index);
    stats.paints += 1;
    if (frame.t && !frame.measured) {
      frame.measured = true;
      stats.latencies.push(Date.now() - frame.t * 1000);
    }
    el.dataset.shownStep = String(index + 1);
    el.dataset.shownRun = String(key);
    el.dataset.paints = String(stats.paints);
  }

  function schedule() {
    if (!scheduled) scheduled = requestAnimationFrame(paint);
  }

  const sync = () => fillForm(ui, model);
  const options = () => fillRuns(ui, model.get("runs"), viewKey);
  const update = () => (showStatus(ui, model, shown()), schedule());

  function view(key) {
    viewKey = key;
    pinned = false;
    pick.value = String(key);
    need(shown());
    update();
  }

  generate.addEventListener("click", () => {
    const int = (input) => (input.value === "" ? null : Number.parseInt(input.value, 10));
    view(0);
    model.send({
      type: "generate", prompt: prompt.value, negative_prompt: negative.value, steps: int(steps),
      seed: int(seed), guidance: Number.parseFloat(guidance.value),
    });
  });
  pause.addEventListener("click", () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  stop.addEventListener("click", () => model.send({ type: "stop" }));
  save.addEventListener("click", () => model.send({ type: "save", run: shown() }));
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => (guidanceValue.textContent = Number(guidance.value).toFixed(1)));
  guidance.addEventListener("change", () => model.send({ type: "guidance", value: Number.parseFloat(guidance.value) }));
  scrub.addEventListener("input", () => {
    const running = shown() === live() && ["running", "paused"].includes(model.get("status"));
    pinned = !(running && Number(scrub.value) === store.get(shown()).length);
    schedule();
  });

  // Every subscription goes through `on`, so the cleanup can undo each one.
  const offs = [];
  const on = (event, handler) => {
    model.on(event, handler);
    offs.push(() => model.off(event, handler));
  };
  offs.push(watch((key) => (key === shown() || key === compareKey()) && schedule()));
  on("change:guidance", sync);
  on("change:run_id", () => (sync(), viewKey || (pinned = false)));
  on("change:runs", () => (options(), schedule()));
  on("change:view", () => view(model.get("view")));
  for (const name of STATUS_TRAITS) on(`change:${name}`, update);
  sync();
  options();
  view(model.get("view"));

  layout(el, ui, strip.el);
  return () => {
    offs.forEach((off) => off());
    if (scheduled) cancelAnimationFrame(scheduled);
    scheduled = -1; // nothing repaints a closed view
    urls.forEach((url) => URL.revokeObjectURL(url));
    strip.clear();
    ownInit?.();
  };
}
