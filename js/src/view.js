// One view of the widget, wired from its components: the form that makes a run (compose.js), the
// steering bar (steering.js), history and compare (history.js), status and details (status.js),
// preview and scrubber (preview.js), the guider (guider.js), the knob selector and slider (knobs.js),
// the knob curves and their editor (curve.js, drawn by chart.js), the guidance lens with its three views and effect
// trace (lens.js), the filmstrip (strip.js), the sweep (sweep.js), and
// the fit to a host's output box of limited height (fit.js). Each owns its state and draws from
// the model's store and traits; they meet only through the small context made here (ctx). Frames come from the model's
// store (model.js); every frame is kept, but only the newest is painted, once per animation
// frame, so a slow page never lags. The view only draws and forwards input; it never acks.

import { composer } from "./compose.js";
import { guidanceCurve } from "./curve.js";
import { guiderSelect } from "./guider.js";
import { hostFit } from "./fit.js";
import { historyBar } from "./history.js";
import { knobControl } from "./knobs.js";
import { guidanceLens } from "./lens.js";
import { initialize, stateOf } from "./model.js";
import { controls, layout } from "./panel.js";
import { previewPane } from "./preview.js";
import { statusLines } from "./status.js";
import { steeringBar } from "./steering.js";
import { filmstrip } from "./strip.js";
import { sweepPanel } from "./sweep.js";

// Traits that change what the status region, buttons and lists say: they mark it stale, and the
// next animation frame redraws it once, with the frame.
const STATUS_TRAITS = ["status", "step", "total", "its", "rate", "error", "message", "applied", "edits", "run_id",
  "saved", "saving", "has_model", "runs", "breakpoints", "pace", "guidance_kind", "knobs", "knob_values", "knob_applied"];
// Traits whose change answers a button that waits for the kernel (its pressed state ends).
const ANSWERS = ["status", "step", "run_id", "message", "saving", "saved"];
const ACTIVE = ["running", "paused"];

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

// What the components share: the model, its store, the elements, which run is shown, one
// animation-frame scheduler (paints every frame, the status parts when stale), the local message
// and the pressed state of buttons that wait for the kernel. Every subscription goes through
// `on`/`listen`, so the cleanup undoes each one.
function context(model, el, ui, store, need) {
  let scheduled = 0, stale = true, busyTimer = 0;
  const paints = [], statuses = [], offs = [];
  const ctx = {
    model, el, ui, store, need, viewKey: 0, local: "",
    live: () => model.get("run_id"),
    shown: () => ctx.viewKey || ctx.live(),
    running: () => ACTIVE.includes(model.get("status")),
    compareKey: () => Number(ui.compare.value),
    paints, statuses, offs,
    on(event, handler) {
      model.on(event, handler);
      offs.push(() => model.off(event, handler));
    },
    listen(node, event, handler) {
      node.addEventListener(event, handler);
      offs.push(() => node.removeEventListener(event, handler));
    },
    schedule() {
      if (!scheduled) scheduled = requestAnimationFrame(ctx.paint);
    },
    update() {
      stale = true;
      ctx.schedule();
    },
    paint() {
      const started = performance.now();
      scheduled = 0;
      if (stale) {
        stale = false;
        statuses.forEach((show) => show());
      }
      paints.forEach((draw) => draw());
      window.sdwidgetStats?.paintMs?.push(performance.now() - started);
    },
    // A refusal of the form's own checks, shown until the next action; "" clears it.
    say(text) {
      ctx.local = text;
      ctx.showMessage?.();
    },
    // Actions that wait for the kernel show pressed at once (aria-busy), until a trait answers
    // them (or, at the latest, a few seconds later).
    busy(button) {
      button.setAttribute("aria-busy", "true");
      clearTimeout(busyTimer);
      busyTimer = setTimeout(ctx.settle, 5000);
    },
    settle() {
      el.querySelectorAll("button[aria-busy]").forEach((b) => b.removeAttribute("aria-busy"));
    },
    close() {
      offs.forEach((off) => off());
      clearTimeout(busyTimer);
      if (scheduled) cancelAnimationFrame(scheduled);
      scheduled = -1; // nothing repaints a closed view
    },
  };
  return ctx;
}

export function render({ model, el }) {
  // A host that never called initialize (anywidget always does) still gets a working view.
  const ownInit = stateOf(model) ? null : initialize({ model });
  const { store, need, watch } = stateOf(model);
  const ui = controls();
  // Kernel step → painted frame (ms), and its parts: kernel step → message received, received →
  // painted; the time each paint takes.
  window.sdwidgetStats ??= { latencies: [], arrivals: [], waits: [], paintMs: [], paints: 0 };
  const ctx = context(model, el, ui, store, need);
  ctx.status = statusLines(ctx);
  ctx.history = historyBar(ctx);
  ctx.knobs = knobControl(ctx);
  ctx.preview = previewPane(ctx);
  ctx.strip = filmstrip(ctx);
  ctx.curve = guidanceCurve(ctx);
  ctx.steering = steeringBar(ctx);
  ctx.compose = composer(ctx);

  // Frames arriving change what the buttons can do (Branch, Decode need a step shown): the
  // status parts are recomputed with them, not only when a trait changes.
  ctx.offs.push(watch((key) => (key === ctx.shown() ? ctx.update() : key === ctx.compareKey() && ctx.schedule())));
  for (const name of STATUS_TRAITS) ctx.on(`change:${name}`, ctx.update);
  for (const name of ANSWERS) ctx.on(`change:${name}`, ctx.settle);
  ctx.listen(el, "keydown", keepKeys);
  ctx.history.view(model.get("view"));

  layout(el, ui, ctx.strip.el);
  guiderSelect(ctx); // a modular pipeline's guider, above the Knob select
  ctx.lens = guidanceLens(ctx); // it places its controls beside the laid-out ones
  const sweep = sweepPanel(model, () => ctx.history.view(0)); // a clicked item's replay shows as the current run
  el.append(sweep.el);
  const fitted = hostFit(ctx);
  return () => {
    fitted.close();
    sweep.close();
    ctx.close();
    ctx.preview.close();
    ctx.lens.close();
    ctx.strip.close();
    ownInit?.();
  };
}
