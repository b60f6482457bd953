// The widget's elements, each with its accessible name, and where they sit: the form that makes
// a run on one side (prompt, settings, Generate/Pause/Stop, messages); on the other the run on
// screen (run pickers, status, its parameters, previews with captions, scrubber, guidance curve,
// filmstrip). Two columns when the widget is wide enough, one below the other when not.

import { h, svgNode } from "./dom.js";

function figure(alt, emptyText) {
  const img = h("img", { alt, class: "sdw-image", hidden: true, draggable: "false" });
  const empty = h("div", { class: "sdw-empty" }, emptyText);
  const caption = h("figcaption", { class: "sdw-caption" });
  const el = h("figure", { class: "sdw-figure" }, h("div", { class: "sdw-frame" }, img, empty), caption);
  return { el, img, empty, caption };
}

function curve() {
  const svg = svgNode("svg", { viewBox: "0 0 300 60", preserveAspectRatio: "none", role: "img",
    "aria-label": "Guidance per step", class: "sdw-plot" });
  const parts = {
    svg,
    top: h("span", { class: "sdw-axis sdw-axis-top", "aria-hidden": "true" }, "10"),
    bottom: h("span", { class: "sdw-axis" }, "0"),
    title: h("span", {}, "Guidance per step"),
    cfg: h("span", { class: "sdw-cfg-label", "aria-hidden": "true" }, "1.0 · CFG off below"),
    readout: h("span", { class: "sdw-readout" }),
    legend: h("div", { class: "sdw-legend", hidden: true }),
    // The other knobs' thin lines in words (chart.js), beside the runs' legend.
    knobs: h("div", { class: "sdw-knob-legend", hidden: true,
      style: "display:flex;flex-wrap:wrap;align-items:center;gap:2px 0;font-size:12px;margin-top:2px" }),
  };
  parts.el = h("figure", { class: "sdw-curve" },
    h("figcaption", { class: "sdw-curve-head" }, parts.title, parts.readout),
    h("div", { class: "sdw-curve-body" },
      h("div", { class: "sdw-axis-col", "aria-hidden": "true" }, parts.top, parts.bottom),
      h("div", { class: "sdw-plot-box" }, svg)),
    // Under the plot, where no curve crosses it: what the dashed 1.0 line means.
    h("div", { class: "sdw-curve-foot" }, parts.cfg),
    parts.legend, parts.knobs);
  return parts;
}

// The Pace control's choices: steps per second, 0 for full speed.
export const PACES = [[0, "Full speed"], [10, "10 steps/s"], [4, "4 steps/s"], [1, "1 step/s"]];

export function controls() {
  const main = figure("Live preview", "No image yet: type a prompt and press Generate. Each step's preview shows here.");
  const other = figure("Compared preview", "");
  const knob = h("select", { "aria-label": "Knob", style: "width:auto" });
  return {
    prompt: h("textarea", { "aria-label": "Prompt", rows: 2 }),
    negative: h("textarea", { "aria-label": "Negative prompt", rows: 1 }),
    steps: h("input", { type: "number", "aria-label": "Steps", min: 1, max: 1000, step: 1, inputmode: "numeric" }),
    seed: h("input", { type: "number", "aria-label": "Seed", min: 0, step: 1, inputmode: "numeric", placeholder: "random",
      title: "Empty: a new random seed for each run (the run's seed shows with the run)" }),
    guidance: h("input", { type: "range", "aria-label": "Guidance", min: 0, max: 20, step: 0.1 }),
    guidanceValue: h("span", { class: "sdw-guidance-value", "aria-hidden": "true" }),
    // Which of the model's knobs the slider, its value, the arrow keys and the curve edit act on
    // (knobs.js); shown where the model has more than one. The slider's name is the knob's.
    knob, knobPick: h("label", { class: "sdw-row sdw-pace", hidden: true }, h("span", {}, "Knob"), knob),
    knobName: h("span", { "aria-hidden": "true" }, "Guidance"),
    generate: h("button", { type: "button", class: "sdw-primary" }, "Generate"),
    pause: h("button", { type: "button", "aria-label": "Pause" }, "Pause"),
    stop: h("button", { type: "button" }, "Stop"),
    message: h("div", { role: "alert", class: "sdw-message" }),
    // Steering by hand: pace, single steps, breakpoints, a prompt edited mid-run.
    pace: h("select", { "aria-label": "Pace", title: "Steps per second for this run and the next ones" },
      ...PACES.map(([value, label]) => h("option", { value: String(value) }, label))),
    next: h("button", { type: "button", "data-title": "Run one more step and hold again (key: n)",
      "aria-keyshortcuts": "n" }, "Next step"),
    // Buttons that are never greyed out carry their help as a plain title (enable() sets the
    // others' from data-title).
    applyPrompt: h("button", { type: "button", hidden: true,
      title: "Use the edited prompt for the running run from its next step" }, "Apply prompt"),
    breakpoints: h("button", { type: "button", "aria-pressed": "false",
      title: "Click the guidance curve or a filmstrip frame to set or clear a hold at that step of the next run" },
    "Breakpoints"),
    breakList: h("span", { class: "sdw-breaklist" }),
    clearHolds: h("button", { type: "button", hidden: true, title: "Remove every hold set for the next run" },
      "Clear holds"),
    clearPlan: h("button", { type: "button", hidden: true,
      title: "Drop the guidance curve drawn for the next run: it runs at the form's Guidance" }, "Clear curve"),
    branch: h("button", { type: "button",
      "data-title": "Continue the shown run from the shown step with the form's guidance (and prompt)" }, "Branch from here"),
    decode: h("button", { type: "button", "data-title": "Decode the shown step at full size with the VAE" }, "Decode step"),
    pick: h("select", { "aria-label": "Run" }),
    compare: h("select", { "aria-label": "Compare with" }),
    // The one status region: the shown run's state, the current run's when another is shown,
    // and the outcome of Save gallery. Counters change every step and are not announced.
    status: h("div", { role: "status", class: "sdw-status" }),
    stateLine: h("div", { class: "sdw-state" }),
    liveLine: h("div", { class: "sdw-live", hidden: true }),
    saved: h("div", { class: "sdw-saved", hidden: true }),
    details: h("div", { class: "sdw-details" }),
    reuse: h("button", { type: "button", "data-title": "Copy this run's prompt, steps, seed and guidance into the form" },
      "Use these settings"),
    save: h("button", { type: "button" }, "Save gallery"),
    enlarge: h("button", { type: "button", "aria-pressed": "false" }, "Enlarge preview"),
    main, other,
    image: main.img,
    scrub: h("input", { type: "range", "aria-label": "Step", min: 1, max: 1, value: 1 }),
    stepLabel: h("span", { class: "sdw-step-label", "aria-hidden": "true" }),
    curve: curve(),
  };
}

// Buttons, sliders, pickers and the filmstrip take keys (arrows, Home, End, Enter, Space) that a
// notebook in command mode binds too. view.js stops those keys on their way up the page; a Lumino
// keymap listening on their way down (Notebook 7) skips the shortcuts of elements marked so.
// Text fields are left unmarked: the notebooks already treat them as editing, and the host's
// Shift+Enter and Ctrl+S keep working there.
function keepShortcutsOut(...nodes) {
  nodes.forEach((node) => node.setAttribute("data-lm-suppress-shortcuts", "true"));
}

export function layout(el, ui, strip) {
  el.classList.add("sdw");
  keepShortcutsOut(ui.steps, ui.seed, ui.guidance, ui.knob, ui.generate, ui.pause, ui.stop, ui.pick, ui.compare, ui.reuse,
    ui.save, ui.enlarge, ui.scrub, strip,
    ui.pace, ui.next, ui.applyPrompt, ui.breakpoints, ui.branch, ui.decode, ui.clearPlan, ui.clearHolds, ui.breakList);
  const field = (label, input, extra = {}) => h("label", { class: "sdw-field", ...extra }, h("span", {}, label), input);
  ui.status.append(ui.stateLine, ui.liveLine, ui.saved);
  el.append(
    h("div", { class: "sdw-form" },
      field("Prompt", ui.prompt), field("Negative prompt", ui.negative), ui.applyPrompt,
      h("div", { class: "sdw-row sdw-pair" }, field("Steps", ui.steps), field("Seed", ui.seed)),
      h("div", { class: "sdw-field" },
        h("div", { class: "sdw-row", style: "justify-content:space-between;flex-wrap:wrap;gap:2px 8px" }, ui.knobName,
          ui.knobPick),
        h("div", { class: "sdw-row" }, ui.guidance, ui.guidanceValue)),
      h("div", { class: "sdw-row sdw-buttons" }, ui.generate, ui.pause, ui.stop),
      h("div", { class: "sdw-row sdw-buttons" }, ui.next, h("label", { class: "sdw-row sdw-pace" },
        h("span", {}, "Pace"), ui.pace)), ui.message),
    h("div", { class: "sdw-view" },
      h("div", { class: "sdw-row sdw-pair" }, field("Run", ui.pick), field("Compare with", ui.compare)),
      ui.status, ui.details,
      h("div", { class: "sdw-row sdw-buttons" }, ui.reuse, ui.save, ui.enlarge),
      h("div", { class: "sdw-previews" }, ui.main.el, ui.other.el),
      h("div", { class: "sdw-row sdw-scrubber" }, ui.scrub, ui.stepLabel),
      h("div", { class: "sdw-row sdw-buttons" }, ui.decode, ui.branch, ui.breakpoints, ui.clearPlan),
      h("div", { class: "sdw-row sdw-buttons sdw-holds" }, ui.breakList, ui.clearHolds),
      ui.curve.el, strip),
  );
}
