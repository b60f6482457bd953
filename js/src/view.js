// One view of the widget: the form, live preview, step scrubber, guidance curve, filmstrip,
// history and side-by-side comparison. Frames come from the model's store (model.js); every
// frame is kept, but only the newest is painted, once per animation frame, so a slow page never
// lags. The view only draws and forwards input; it never acks.

import { align, sparkline, stepAt } from "./dom.js";
import { ACTIVE, detailsText, enable, FIELDS, fillField, fillRuns, readForm, runInfo, stateText } from "./form.js";
import { Filmstrip, scaleRule } from "./frames.js";
import { initialize, stateOf } from "./model.js";
import { controls, layout } from "./panel.js";

const STATUS_TRAITS = ["status", "step", "total", "its", "error", "message", "applied", "run_id", "saved", "saving",
  "has_model", "runs"];

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
    compare, save, reuse, enlarge, main, other, curve } = ui;

  // Kernel step → painted frame (ms), and its parts: kernel step → message received, received →
  // painted; the time each paint takes.
  const stats = (window.sdwidgetStats ??= { latencies: [], arrivals: [], waits: [], paintMs: [], paints: 0 });
  const strip = new Filmstrip((i) => pickStep(i));
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
      sparkline(curve, [{ values: info?.guidance || [], total: info?.steps || 0, name: info?.name || "" }], -1);
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
    put(main.img, mine.blob);
    text(main.caption, mine.caption);
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
    sparkline(curve, series, hover ?? index);
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
    showMessage();
    const name = model.get("saved");
    text(ui.saved, model.get("saving") ? "Saving gallery…" : name ? `Saved gallery ${name}` : "");
    ui.saved.hidden = !ui.saved.textContent;
  }

  const fill = (name) => fillField(ui, model, name, form);
  const options = () => fillRuns(ui, model, viewKey);

  function view(key) {
    const listed = (model.get("runs") || []).some((r) => r.key === key);
    viewKey = listed ? key : 0;
    pinned = false;
    hover = null;
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
    model.send(message);
  });
  const act = (button, send) => button.addEventListener("click", () => {
    if (disabled(button)) return;
    localMessage = "";
    send();
    showMessage();
  });
  act(pause, () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  act(stop, () => model.send({ type: "stop" }));
  act(save, () => model.send({ type: "save", run: shown() }));
  act(reuse, () => {
    const info = runInfo(model, shown());
    prompt.value = info.prompt ?? "";
    negative.value = info.negative_prompt ?? "";
    steps.value = info.steps ?? "";
    seed.value = info.seed ?? "";
    form.seedRandom = false;
    ["prompt", "negative", "steps", "seed"].forEach((name) => form.dirty.add(name));
  });
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
    });
  }
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => (guidanceValue.textContent = Number(guidance.value).toFixed(1)));
  guidance.addEventListener("change", () => {
    localMessage = "";
    showMessage();
    const value = Number.parseFloat(guidance.value);
    if (value === model.get("guidance") && !sentGuidance.length) return; // asked for already
    sentGuidance.push(value);
    model.send({ type: "guidance", value });
  });
  scrub.addEventListener("input", () => pickStep(Number(scrub.value) - 1));
  curve.svg.addEventListener("pointermove", (event) => {
    hover = stepAt(curve, event.clientX);
    schedule();
  });
  curve.svg.addEventListener("pointerleave", () => {
    hover = null;
    schedule();
  });
  curve.svg.addEventListener("click", (event) => {
    const i = stepAt(curve, event.clientX);
    if (i !== null && i < store.count(shown())) pickStep(i);
  });
  el.addEventListener("keydown", keepKeys);
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
  offs.push(watch((key) => (key === shown() || key === compareKey()) && schedule()));
  for (const [name, trait] of Object.entries(FIELDS)) if (name !== "guidance") on(`change:${trait}`, () => fill(name));
  // The kernel echoes each value the slider sends; while later ones are on their way, an echo
  // would move the slider back under the user's hand. Any other value (a run started with its
  // own guidance, one set from Python) is shown at once.
  on("change:guidance", () => {
    const i = sentGuidance.indexOf(model.get("guidance"));
    sentGuidance = i < 0 ? [] : sentGuidance.slice(i + 1);
    if (!sentGuidance.length) fill("guidance");
  });
  on("change:run_id", () => viewKey || (pinned = false));
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
  Object.keys(FIELDS).forEach(fill);
  options();
  view(model.get("view"));

  layout(el, ui, strip.el);
  return () => {
    offs.forEach((off) => off());
    el.removeEventListener("keydown", keepKeys);
    resized.disconnect();
    stripResized.disconnect();
    if (scheduled) cancelAnimationFrame(scheduled);
    scheduled = -1; // nothing repaints a closed view
    urls.forEach((url) => URL.revokeObjectURL(url));
    strip.clear();
    ownInit?.();
  };
}
