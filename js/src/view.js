// One view of the widget: the form, live preview, step scrubber, guidance curve, filmstrip,
// history and side-by-side comparison. Frames come from the model's store (model.js); every
// frame is kept, but only the newest is painted, once per animation frame, so a slow page never
// lags. The view only draws and forwards input; it never acks.

import { align, h, sparkline, stepAt, valueAt } from "./dom.js";
import { ACTIVE, detailsText, enable, FIELDS, fillField, fillRuns, readForm, runInfo, stateText } from "./form.js";
import { Filmstrip, scaleRule } from "./frames.js";
import { initialize, stateOf } from "./model.js";
import { controls, layout } from "./panel.js";
import { sweepPanel } from "./sweep.js";

const STATUS_TRAITS = ["status", "step", "total", "its", "rate", "error", "message", "applied", "edits", "run_id", "saved",
  "saving", "has_model", "runs", "breakpoints", "pace", "guidance_kind", "knobs"];
// Traits whose change answers a button that waits for the kernel (its pressed state ends).
const ANSWERS = ["status", "step", "run_id", "message", "saving", "saved"];
const TYPED = ["TEXTAREA", "INPUT", "SELECT"]; // where the letter n is text, not Next step
const BRANCHABLE = ["finished", "stopped", "paused"];

// Keys that the widget's own controls use stay inside the widget: a notebook in command mode
// would otherwise take the arrow keys (and letters) for its own shortcuts. Combinations with
// Ctrl, Alt or Meta, Shift+Enter, Escape and Tab still reach the host. Hosts that listen while the
// key goes down the page rather than up it (Lumino's capture-phase keymap: Notebook 7) never see
// this stop in time; for them the controls that take keys without being text fields carry
// `data-lm-suppress-shortcuts` (see panel.js), an attribute no other host reads.
function keepKeys(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (["Escape", "Tab"].includes(event.key) || (event.key === "Enter" && event.shiftKey)) return;
  event.stopPropagation();
}

export function render({ model, el }) {
  // A host that never called initialize (anywidget always does) still gets a working view.
  const ownInit = stateOf(model) ? null : initialize({ model });
  const { store, need, watch } = stateOf(model);
  const ui = controls();
  const { prompt, negative, steps, seed, guidance, guidanceValue, generate, pause, stop, scrub, stepLabel, pick,
    compare, save, reuse, enlarge, main, other, curve, pace, next, applyPrompt, breakpoints, breakList, branch,
    decode, clearPlan, clearHolds } = ui;

  // Kernel step → painted frame (ms), and its parts: kernel step → message received, received →
  // painted; the time each paint takes.
  const stats = (window.sdwidgetStats ??= { latencies: [], arrivals: [], waits: [], paintMs: [], paints: 0 });
  // A click on a frame in Breakpoints mode (no run going) sets or clears a hold at that step of the next run.
  const strip = new Filmstrip((i, event) =>
    (event && breakMode && !running() && i < strip.steps ? toggleBreak(i + 1) : pickStep(i)));
  let breakMode = false; // the Breakpoints toggle: the curve shows the next run, clicks set holds
  let pendingBreaks = [], runBreaks = { key: 0, steps: [] }; // holds sent with Generate, then the run's
  const plan = new Map(); // 0-based step → guidance planned by dragging the curve of the running run
  // 0-based step → guidance planned for the next run by dragging the curve while no run is going;
  // sent as the `schedule` of Generate (steps not dragged keep the form's Guidance), then cleared.
  const nextPlan = new Map();
  let drag = null; // { last: step } while dragging the curve
  let press = null; // { x, y, id }: a press on the curve with no run going, a drag of the next run's plan once it moves
  let dragged = false; // the last press planned the next run: its click picks no step
  let decoded = null; // { run, step, blob }: the VAE decode of a step, shown until the scrubber moves
  let where = null; // what draw() showed last: { key, pos, n, atFinal }
  let viewKey = 0, stripKey = null, pinned = false, scheduled = 0; // scheduled: the pending rAF id
  let hover = null; // the step under the pointer on the guidance curve
  let localMessage = ""; // a refusal of the form's own checks, until the next action
  let stale = true; // the status region needs redrawing (see update)
  const form = { dirty: new Set(), seedRandom: false };
  let sentGuidance = []; // values the Guidance slider sent that the kernel has not echoed yet
  const urls = new Map(); // img element → its blob URL, revoked when replaced
  const blobs = new Map(); // img element → the blob it shows, so an unchanged one is not reloaded

  const text = (node, value) => node.textContent !== value && (node.textContent = value);
  const live = () => model.get("run_id");
  const shown = () => viewKey || live();
  const compareKey = () => Number(compare.value);
  const running = () => ACTIVE.includes(model.get("status"));
  const formSteps = () => Math.max(1, Math.min(1000, Number.parseInt(steps.value, 10) || model.get("steps") || 1));

  // The next run's guidance per step: the form's Guidance where the curve was not dragged.
  const nextSchedule = () => {
    const base = Number.parseFloat(guidance.value) || 0;
    return Array.from({ length: formSteps() }, (_, k) => nextPlan.get(k) ?? base);
  };
  // The curve shows the next run (from the form's Steps) in Breakpoints mode and while it is planned.
  const showsNext = () => !running() && (breakMode || nextPlan.size > 0 || Boolean(drag?.next));
  function chartNext() {
    const total = formSteps();
    sparkline(curve, [{ values: nextSchedule(), total, name: "Next run" }], hover ?? -1,
      { plan: new Map([...nextPlan].filter(([k]) => k < total)), breaks: model.get("breakpoints") || [],
        switch: model.get("guidance_kind") === "cfg" });
  }

  // The guidance curve: the next run's plan in Breakpoints mode or once dragged, else the shown run
  // (with the planned values dragged over its steps not run yet and the holds it was started with).
  function chart(series, current, key) {
    if (showsNext()) return chartNext();
    const own = key === live();
    const done = series[0]?.values.length || 0;
    const planned = own ? new Map([...plan].filter(([k]) => k >= done - 1)) : undefined;
    // The steps after the dragged stretch keep its last value (the kernel holds it): drawn too.
    const last = planned?.size ? Math.max(...planned.keys()) : -1;
    for (let k = last + 1; last >= 0 && k < (series[0]?.total || 0); k++) planned.set(k, planned.get(last));
    sparkline(curve, series, current, { plan: planned, breaks: own && runBreaks.key === key ? runBreaks.steps : [],
      switch: model.get("guidance_kind") === "cfg" });
  }
  function toggleBreak(step) {
    const set = new Set(model.get("breakpoints") || []);
    if (set.has(step)) set.delete(step);
    else set.add(step);
    model.send({ type: "breakpoints", steps: [...set].sort((a, b) => a - b) });
  }

  function put(img, blob) {
    if (blobs.get(img) === blob) return;
    blobs.set(img, blob);
    const url = URL.createObjectURL(blob);
    img.src = url;
    img.hidden = false;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }
  function emptyText(key, info) {
    if (!key) return model.get("has_model") ? "No image yet: type a prompt and press Generate. Each step's preview shows here."
      : "No model attached: galleries added from Python show here.";
    if (info?.status === "failed") return `${info.name} failed before its first step.`;
    return key === live() ? `${info?.name || "The run"}: waiting for its first step…` : `Loading ${info?.name || "the run"}…`;
  }
  function blank(fig, text) {
    fig.empty.textContent = text;
    fig.empty.hidden = false;
    if (fig.img.hidden) return;
    fig.img.hidden = true;
    fig.img.removeAttribute("src");
    blobs.delete(fig.img);
    if (urls.has(fig.img)) URL.revokeObjectURL(urls.get(fig.img));
    urls.delete(fig.img);
  }
  // The previews' box, as last observed (the pixel rule needs it; measuring would force layout).
  const box = { width: 0, height: 0 };
  const rule = () => [main.img, other.img].forEach((img) => scaleRule(img, box.width, box.height));
  for (const fig of [main, other]) {
    fig.img.addEventListener("load", () => {
      if (!fig.empty.hidden) fig.empty.hidden = true;
      scaleRule(fig.img, box.width, box.height);
    });
  }

  const g = (frame) => (frame ? `guidance ${Number(frame.guidance).toFixed(1)}` : "");
  const describe = (frames) => (i) => `Step ${i + 1} of ${frames[i].total}, guidance ${Number(frames[i].guidance).toFixed(1)}`;

  // What run `key` shows at scrubber position `pos` (0-based step), or at its end (`final`): the
  // image and its caption (run, step, guidance). A run shorter than `pos` shows its last step,
  // and says so; at the end, a run whose final image this page never got shows its last step.
  function at(key, pos, info, final) {
    const frames = store.get(key), n = store.count(key), fin = store.final(key);
    const name = info?.name || `#${key}`;
    if (final && fin) return { blob: fin, caption: [name, "final image", g(frames[n - 1])].filter(Boolean).join(" · ") };
    if (!n) return null;
    const i = Math.min(pos, n - 1), frame = frames[i];
    const note = final ? " (last step)" : i >= pos ? "" : ["stopped", "failed"].includes(info?.status)
      ? ` (${info.status} here)` : " (last step)";
    return { blob: frame.blob, caption: `${name} · step ${i + 1} / ${frame.total}${note} · ${g(frame)}`, index: i };
  }

  function paint() {
    const started = performance.now();
    draw();
    stats.paintMs?.push(performance.now() - started);
  }

  function draw() {
    scheduled = 0;
    if (stale) showState();
    const key = shown(), frames = store.get(key), n = store.count(key), fin = store.final(key);
    const info = runInfo(model, key);
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    const positions = n + (fin ? 1 : 0);
    const cmp = compareKey(), cmpInfo = cmp ? runInfo(model, cmp) : null;
    other.el.hidden = !cmp;
    // Written only when it changes: a custom property on the root restyles everything under it.
    const columns = cmp ? "2" : "1";
    if (el.style.getPropertyValue("--sdw-n") !== columns) el.style.setProperty("--sdw-n", columns);
    if (!positions) {
      blank(main, emptyText(key, info));
      text(main.caption, "");
      scrub.max = 1;
      scrub.value = 1;
      scrub.disabled = true;
      text(stepLabel, "");
      chart([{ values: info?.guidance || [], total: info?.steps || 0, name: info?.name || "" }], -1, key);
      where = { key, pos: -1, n: 0, atFinal: false };
      el.dataset.shownRun = String(key);
      el.dataset.shownStep = "";
      return;
    }
    scrub.disabled = false;
    scrub.max = positions;
    const pos = pinned ? Math.min(Number(scrub.value) - 1, positions - 1) : positions - 1;
    scrub.value = pos + 1;
    const atFinal = Boolean(fin) && pos === n;
    const mine = at(key, pos, info, atFinal);
    where = { key, pos, n, atFinal };
    const exact = decoded && decoded.run === key && decoded.step === pos && !atFinal;
    put(main.img, exact ? decoded.blob : mine.blob);
    text(main.caption, exact ? `${info?.name || `#${key}`} · step ${pos + 1}, exact (VAE) · ${g(frames[pos])}` : mine.caption);
    el.dataset.decoded = exact ? String(pos + 1) : "";
    const total = frames[0]?.total || info?.steps || 1; // no frames yet: a final image known on its own
    text(stepLabel, atFinal ? "final image" : `step ${pos + 1} / ${total}`);
    scrub.setAttribute("aria-valuetext", atFinal ? "final image" : `step ${pos + 1} of ${total}`);

    // The compared run at the same point: its final image at the end, else the step as far
    // along its own run as this one is along ours (the same step when both have as many).
    let theirs = null;
    if (cmp) {
      const cn = store.count(cmp), ctotal = store.get(cmp)[0]?.total || 0;
      theirs = at(cmp, atFinal ? cn : align(pos, total, ctotal), cmpInfo, atFinal);
      if (theirs) {
        put(other.img, theirs.blob);
        text(other.caption, theirs.caption);
        el.dataset.compareStep = theirs.index == null ? "final" : String(theirs.index + 1);
      } else {
        blank(other, `Loading ${cmpInfo?.name || "the run"}…`);
        text(other.caption, "");
      }
    }
    const index = atFinal ? n - 1 : pos;
    const series = [{ values: info?.guidance?.length ? info.guidance : frames.slice(0, n).map((f) => f.guidance), total,
      name: info?.name || `#${key}` }];
    if (cmp) series.push({ values: cmpInfo?.guidance || [], total: cmpInfo?.steps || 0, name: cmpInfo?.name || `#${cmp}` });
    else if (info?.parent) {
      // A branch's curve is drawn over its parent's.
      const parent = runInfo(model, info.parent);
      if (parent) series.push({ values: parent.guidance || [], total: parent.steps || 0, name: parent.name, role: "parent" });
    }
    chart(series, hover ?? index, key);
    strip.sync(frames, n, fin, pos, describe(frames));
    stats.paints += 1;
    const painted = atFinal ? null : frames[pos];
    if (painted?.t && !painted.measured) {
      painted.measured = true;
      const now = Date.now();
      stats.latencies.push(now - painted.t * 1000);
      stats.arrivals?.push(painted.received - painted.t * 1000);
      stats.waits?.push(now - painted.received);
    }
    el.dataset.shownStep = atFinal ? "final" : String(pos + 1);
    el.dataset.shownRun = String(key);
    el.dataset.paints = String(stats.paints);
  }

  function schedule() {
    if (!scheduled) scheduled = requestAnimationFrame(paint);
  }

  function pickStep(i) {
    const running = shown() === live() && ACTIVE.includes(model.get("status"));
    pinned = !(running && i === store.count(shown()) - 1);
    if (decoded && decoded.step !== i) decoded = null;
    scrub.value = i + 1;
    schedule();
  }

  function showMessage() {
    text(ui.message, localMessage || model.get("message"));
  }

  // Trait changes arrive several per batch (step, total, its, applied…): they mark the status
  // stale, and the next animation frame redraws it once, with the frame.
  function update() {
    stale = true;
    schedule();
  }

  function showState() {
    stale = false;
    const key = shown(), info = runInfo(model, key), state = model.get("status");
    const running = ACTIVE.includes(state);
    text(ui.stateLine, stateText(info, model));
    const liveInfo = key !== live() && running ? runInfo(model, live()) : null;
    ui.liveLine.hidden = !liveInfo;
    text(ui.liveLine, liveInfo ? `Current run ${stateText(liveInfo, model)}` : "");
    text(ui.details, detailsText(info));
    const label = state === "paused" ? "Resume" : "Pause";
    text(pause, label);
    pause.setAttribute("aria-label", label);
    enable(pause, running, "No run is going");
    enable(stop, running, "No run is going");
    enable(generate, model.get("has_model") && !running,
      running ? "A run is going: Stop it or wait for it to finish, then Generate" : "No model attached");
    enable(save, Boolean(info) && !model.get("saving"), model.get("saving") ? "Saving a gallery…" : "No run to save");
    enable(reuse, Boolean(info), "No run shown");
    enable(next, state === "paused", "Only while the current run is paused");
    applyPrompt.hidden = !(running && (form.dirty.has("prompt") || form.dirty.has("negative")));
    // Flux's distilled guidance runs no CFG: a negative prompt there does nothing.
    negative.placeholder = model.get("guidance_kind") === "distilled" ? "Not used by distilled guidance" : "";
    guidance.title = model.get("knobs")?.[0]?.meaning ?? ""; // what a value means on this model, from its family
    const canBranch = key > 0 && Boolean(info) && BRANCHABLE.includes(info.status) && store.count(key) > 0;
    enable(branch, canBranch, key < 0 ? "A loaded gallery cannot be continued"
      : "Only a finished, stopped or paused run can be branched");
    enable(decode, key > 0 && store.count(key) > 0, key < 0 ? "A loaded gallery's latents were not kept" : "No step shown");
    const pacing = String(model.get("pace") || 0);
    if (![...pace.options].some((o) => o.value === pacing)) pace.append(h("option", { value: pacing }, `${pacing} steps/s`));
    if (pace.value !== pacing) pace.value = pacing;
    clearPlan.hidden = !(nextPlan.size > 0 && !running);
    el.classList.toggle("sdw-planmode", !running && !breakMode && nextPlan.size > 0);
    const holds = model.get("breakpoints") || [];
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    el.classList.toggle("sdw-breakmode", breakMode && !running);
    showHolds(holds, running);
    showMessage();
    // A save belongs to its run: said under that run only, with the folder it went to.
    text(ui.saved, model.get("saving") ? "Saving gallery…" : info?.saved ? `Saved gallery of ${info.name} to ${info.saved}` : "");
    ui.saved.hidden = !ui.saved.textContent;
  }

  // The next run's holds, each a button that removes it (no need to hit the curve's tick again),
  // and Clear holds; rebuilt only when they change.
  let holdsShown = null;
  function showHolds(holds, running) {
    const hint = holds.length ? "" : !breakMode ? "" : running ? "Holds are set for the next run, once this one ends"
      : "Click the curve or a frame to hold there";
    const key = `${holds.join(",")}|${hint}`;
    clearHolds.hidden = holds.length < 2;
    if (holdsShown === key) return;
    holdsShown = key;
    breakList.replaceChildren(...(holds.length ? ["Next run holds at step", ...holds.flatMap((step) => [" ",
      h("button", { type: "button", class: "sdw-hold", "aria-label": `Remove hold at step ${step}`,
        title: `Remove the hold at step ${step}`, "data-lm-suppress-shortcuts": "true",
        onclick: () => toggleBreak(step) }, `${step} ×`)])] : [hint]));
  }

  // Actions that wait for the kernel show pressed at once (aria-busy), until a trait answers
  // them (or, at the latest, a few seconds later).
  let busyTimer = 0;
  function busy(button) {
    button.setAttribute("aria-busy", "true");
    clearTimeout(busyTimer);
    busyTimer = setTimeout(settle, 5000);
  }
  function settle() {
    el.querySelectorAll("button[aria-busy]").forEach((b) => b.removeAttribute("aria-busy"));
  }

  const fill = (name) => fillField(ui, model, name, form);
  const options = () => fillRuns(ui, model, viewKey);

  function view(key) {
    const listed = (model.get("runs") || []).some((r) => r.key === key);
    viewKey = listed ? key : 0;
    pinned = false;
    hover = null;
    decoded = null;
    pick.value = String(viewKey);
    need(shown());
    update();
  }

  const disabled = (button) => button.getAttribute("aria-disabled") === "true";
  generate.addEventListener("click", () => {
    if (disabled(generate)) {
      localMessage = generate.title;
      return showMessage();
    }
    const { problems, message } = readForm(ui);
    if (nextPlan.size && !problems.length) {
      message.schedule = nextSchedule();
      message.guidance = message.schedule[0];
    }
    for (const name of ["steps", "seed"]) ui[name].setAttribute("aria-invalid", String(problems.some(([p]) => p === name)));
    if (problems.length) {
      localMessage = problems.map(([, text]) => text).join(" ");
      ui[problems[0][0]].focus();
      return showMessage();
    }
    localMessage = "";
    form.seedRandom = message.seed === null;
    form.dirty.clear(); // what the form holds is what was sent; the run's values will match it
    view(0);
    pendingBreaks = (model.get("breakpoints") || []).filter((b) => b <= message.steps);
    breakMode = false;
    nextPlan.clear();
    busy(generate);
    model.send(message);
  });
  const act = (button, send, waits = true) => button.addEventListener("click", () => {
    if (disabled(button)) return;
    localMessage = "";
    if (waits) busy(button);
    send();
    showMessage();
  });
  act(pause, () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  act(stop, () => model.send({ type: "stop" }));
  act(next, () => model.send({ type: "step" }));
  act(clearHolds, () => model.send({ type: "breakpoints", steps: [] }), false);
  act(applyPrompt, () => {
    model.send({ type: "prompt", prompt: prompt.value, negative_prompt: negative.value });
    form.dirty.delete("prompt");
    form.dirty.delete("negative");
    update();
  });
  act(branch, () => {
    const key = shown(), info = runInfo(model, key);
    if (!where || where.key !== key) return;
    const message = { type: "branch", run: key, step: where.atFinal ? where.n : where.pos + 1,
      guidance: Number.parseFloat(guidance.value) };
    if (prompt.value !== (info.prompt ?? "")) message.prompt = prompt.value;
    if (negative.value !== (info.negative_prompt ?? "")) message.negative_prompt = negative.value;
    pendingBreaks = [];
    view(0);
    model.send(message);
  });
  act(decode, () => {
    if (!where || where.key !== shown()) return;
    const step = where.atFinal ? where.n - 1 : where.pos;
    if (where.atFinal) pickStep(step); // the decode of the last step shows at that step
    model.send({ type: "decode", run: where.key, step });
  });
  act(clearPlan, () => {
    nextPlan.clear();
    update();
  }, false);
  breakpoints.addEventListener("click", () => {
    breakMode = !breakMode;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    hover = null;
    update();
  });
  pace.addEventListener("change", () => {
    const value = Number(pace.value);
    model.send({ type: "pace", value: value > 0 ? value : null });
  });
  const custom = (msg, buffers) => {
    if (msg?.type !== "decoded" || !buffers?.length) return;
    decoded = { run: msg.run, step: msg.step, blob: new Blob([buffers[0]], { type: "image/png" }) };
    settle();
    schedule();
  };
  act(save, () => model.send({ type: "save", run: shown() }));
  act(reuse, () => {
    const info = runInfo(model, shown());
    prompt.value = info.prompt ?? "";
    negative.value = info.negative_prompt ?? "";
    steps.value = info.steps ?? "";
    seed.value = info.seed ?? "";
    form.seedRandom = false;
    ["prompt", "negative", "steps", "seed"].forEach((name) => form.dirty.add(name));
 }, false);
  enlarge.addEventListener("click", () => {
    const on = !el.classList.contains("sdw-large");
    el.classList.toggle("sdw-large", on);
    enlarge.setAttribute("aria-pressed", String(on));
  });
  for (const name of ["prompt", "negative", "steps", "seed"]) {
    ui[name].addEventListener("input", () => {
      form.dirty.add(name);
      if (name === "seed") form.seedRandom = false;
      ui[name].removeAttribute("aria-invalid");
      if (name === "steps") nextPlan.clear(); // a plan for another number of steps is dropped
      if (name === "prompt" || name === "negative" || name === "steps") update();
    });
  }
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => {
    guidanceValue.textContent = Number(guidance.value).toFixed(1);
    if (showsNext()) schedule(); // the next run's steps not dragged follow the slider
  });
  guidance.addEventListener("change", () => {
    localMessage = "";
    showMessage();
    const value = Number.parseFloat(guidance.value);
    if (value === model.get("guidance") && !sentGuidance.length) return; // asked for already
    sentGuidance.push(value);
    model.send({ type: "guidance", value });
  });
  scrub.addEventListener("input", () => pickStep(Number(scrub.value) - 1));
  // Dragging over the running run's steps not yet run plans their guidance (sent on release).
  const planning = () => shown() === live() && running() && !(breakMode && !running());
  // With no run going (and Breakpoints off), dragging plans the next run instead: the curve turns
  // into the next run's once the pointer moves (a plain click still picks a step of the shown run),
  // or at once when a plan is drawn already.
  const planningNext = () => !running() && !breakMode && model.get("has_model");
  const startNext = (x, y) => {
    drag = { next: true, last: null, touched: new Set() };
    chartNext(); // the next run's steps and axis, for the pointer's step and value
    const i = stepAt(curve, x), value = valueAt(curve, y);
    if (i === null || value === null) return;
    nextPlan.set(i, value);
    drag.last = i;
    dragged = true;
    update();
  };
  curve.svg.addEventListener("pointerdown", (event) => {
    dragged = false;
    if (planningNext() && event.button === 0) {
      event.preventDefault();
      curve.svg.setPointerCapture(event.pointerId);
      if (nextPlan.size) startNext(event.clientX, event.clientY);
      else press = { x: event.clientX, y: event.clientY };
      return;
    }
    const i = stepAt(curve, event.clientX), value = valueAt(curve, event.clientY);
    if (!planning() || i === null || value === null || i < model.get("step")) return;
    event.preventDefault();
    curve.svg.setPointerCapture(event.pointerId);
    drag = { last: i, touched: new Set([i]) };
    plan.set(i, value);
    schedule();
  });
  curve.svg.addEventListener("pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > 4) {
      startNext(press.x, press.y);
      press = null;
    }
    hover = stepAt(curve, event.clientX);
    if (drag?.next && hover !== null && drag.last !== null) {
      const value = valueAt(curve, event.clientY), from = drag.last, before = nextPlan.get(from) ?? value;
      const dir = hover >= from ? 1 : -1;
      for (let k = from; k !== hover + dir; k += dir) {
        const t = hover === from ? 1 : (k - from) / (hover - from);
        nextPlan.set(k, Math.round((before + (value - before) * t) * 10) / 10);
      }
      drag.last = hover;
    } else if (drag && !drag.next && hover !== null) {
      const value = valueAt(curve, event.clientY), from = drag.last, first = model.get("step");
      const dir = hover >= from ? 1 : -1, before = plan.get(from) ?? value;
      for (let k = from; k !== hover + dir; k += dir) {
        if (k < first) continue;
        const t = hover === from ? 1 : (k - from) / (hover - from);
        plan.set(k, Math.round((before + (value - before) * t) * 10) / 10);
        drag.touched.add(k);
      }
      drag.last = hover;
    }
    schedule();
  });
  const endDrag = () => {
    press = null;
    if (drag?.next) {
      drag = null;
      return update();
    }
    if (!drag) return;
    const first = model.get("step"), touched = [...drag.touched].filter((k) => k >= first).sort((a, b) => a - b);
    drag = null;
    if (!touched.length) return;
    const start = touched[0], end = touched.at(-1), values = [];
    for (let k = start; k <= end; k++) values.push(plan.get(k) ?? model.get("guidance"));
    localMessage = "";
    showMessage();
    model.send({ type: "plan", start, values });
  };
  curve.svg.addEventListener("pointerup", endDrag);
  curve.svg.addEventListener("pointercancel", endDrag);
  curve.svg.addEventListener("pointerleave", () => {
    hover = null;
    schedule();
  });
  curve.svg.addEventListener("click", (event) => {
    const i = stepAt(curve, event.clientX);
    if (dragged || (nextPlan.size && !running() && !breakMode)) return (dragged = false);
    if (breakMode && !running()) return i !== null && toggleBreak(i + 1);
    if (i !== null && i < store.count(shown())) pickStep(i);
  });
  el.addEventListener("keydown", keepKeys);
  // n: Next step, anywhere in the widget but a text field or picker.
  const nextKey = (event) => {
    if (event.key !== "n" || event.ctrlKey || event.metaKey || event.altKey || TYPED.includes(event.target.tagName)) return;
    event.preventDefault();
    next.click();
  };
  el.addEventListener("keydown", nextKey);
  model.on("msg:custom", custom);
  // The pixel rule depends on the size shown, which changes with the widget's width.
  const resized = new ResizeObserver(([entry]) => {
    ({ width: box.width, height: box.height } = entry.contentRect);
    rule();
  });
  resized.observe(main.img.parentElement);
  const stripResized = new ResizeObserver(() => strip.mark(strip.current, true));
  stripResized.observe(strip.el);

  // Every subscription goes through `on`, so the cleanup can undo each one.
  const offs = [];
  const on = (event, handler) => {
    model.on(event, handler);
    offs.push(() => model.off(event, handler));
  };
  // Frames arriving change what the buttons can do (Branch, Decode need a step shown): the
  // status region is recomputed with them, not only when a trait changes.
  offs.push(watch((key) => (key === shown() ? update() : key === compareKey() && schedule())));
  for (const [name, trait] of Object.entries(FIELDS)) if (name !== "guidance") on(`change:${trait}`, () => fill(name));
  // The kernel echoes each value the slider sends; while later ones are on their way, an echo
  // would move the slider back under the user's hand. Any other value (a run started with its
  // own guidance, one set from Python) is shown at once.
  on("change:guidance", () => {
    const i = sentGuidance.indexOf(model.get("guidance"));
    sentGuidance = i < 0 ? [] : sentGuidance.slice(i + 1);
    if (!sentGuidance.length) fill("guidance");
  });
  on("change:run_id", () => {
    plan.clear();
    runBreaks = { key: live(), steps: pendingBreaks };
    pendingBreaks = [];
    return viewKey || (pinned = false);
  });
  on("change:runs", () => {
    if (viewKey && !(model.get("runs") || []).some((r) => r.key === viewKey)) view(0); // it left the history
    options();
  });
  on("change:status", options);
  on("change:view", () => view(model.get("view")));
  on("change:message", () => {
    if (model.get("message")) localMessage = "";
    showMessage();
  });
  for (const name of STATUS_TRAITS) on(`change:${name}`, update);
  for (const name of ANSWERS) on(`change:${name}`, settle);
  Object.keys(FIELDS).forEach(fill);
  options();
  view(model.get("view"));

  layout(el, ui, strip.el);
  const sweep = sweepPanel(model, () => view(0)); // a clicked item's replay shows as the current run
  el.append(sweep.el);
  return () => {
    sweep.close();
    offs.forEach((off) => off());
    el.removeEventListener("keydown", keepKeys);
    el.removeEventListener("keydown", nextKey);
    model.off("msg:custom", custom);
    resized.disconnect();
    stripResized.disconnect();
    if (scheduled) cancelAnimationFrame(scheduled);
    clearTimeout(busyTimer);
    scheduled = -1; // nothing repaints a closed view
    urls.forEach((url) => URL.revokeObjectURL(url));
    strip.clear();
    ownInit?.();
  };
}
