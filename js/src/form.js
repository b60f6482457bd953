// What the panel shows of the model's traits: the form's inputs (never one the user is editing),
// the run pickers, the status region and the shown run's parameters. Plain writes into the
// elements of panel.js; the view decides when to call them.

import { h } from "./dom.js";
import { knobDigits, knobLabel } from "./knobs.js";

export const ACTIVE = ["running", "paused"];

// The form's inputs and the traits the kernel fills them from (on open, when a run starts). An
// input the user has typed into since the last Generate is theirs: the kernel's value does not
// overwrite it. The knob slider is filled by knobs.js.
export const FIELDS = { prompt: "prompt", negative: "negative_prompt", steps: "steps", seed: "seed" };

export function fillField(ui, model, name, { dirty, seedRandom }) {
  const input = ui[name];
  if (dirty.has(name)) return;
  const value = model.get(FIELDS[name]);
  // An empty Seed (null from the kernel, or left empty when this page sent Generate) stays empty.
  if (name === "seed" && (seedRandom || value == null)) input.value = "";
  else input.value = value;
}

// Steps and Seed checked before anything is sent; a refusal names the field and says what to type.
// `guidance`: the value the guidance is asked at (the slider's, when it shows the guidance).
export function readForm(ui, guidance) {
  const steps = ui.steps.value.trim(), seed = ui.seed.value.trim();
  const problems = [];
  if (!/^\d+$/.test(steps) || Number(steps) < 1 || Number(steps) > 1000)
    problems.push(["steps", "Steps: enter a whole number from 1 to 1000."]);
  if (seed && (!/^\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))))
    problems.push(["seed", `Seed: enter a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, or leave it empty for a random seed.`]);
  return {
    problems,
    message: {
      type: "generate", prompt: ui.prompt.value, negative_prompt: ui.negative.value, steps: Number(steps),
      seed: seed === "" ? null : Number(seed), guidance,
    },
  };
}

const interval = (list) => (list?.length === 2 ? list : null);

// What is known of run `key`: its history entry, with the live traits for the current run.
export function runInfo(model, key) {
  const entry = (model.get("runs") || []).find((r) => r.key === key);
  if (key && key === model.get("run_id")) {
    return {
      key, name: entry?.name || `#${key}`, prompt: entry?.prompt ?? model.get("prompt"),
      negative_prompt: entry?.negative_prompt ?? model.get("negative_prompt"), seed: entry?.seed ?? model.get("seed"),
      steps: model.get("total") || entry?.steps, guidance_scale: entry?.guidance_scale, status: model.get("status"),
      done: model.get("step"), its: model.get("its"), rate: model.get("rate"), guidance: model.get("applied"),
      knobs: model.get("knob_applied") || {},
      error: model.get("error"), prompts: model.get("edits") || [], holds: entry?.holds || [], saved: entry?.saved || "",
      live: true, parent: entry?.parent ?? null, branch_step: entry?.branch_step ?? null, guider: entry?.guider,
      // The trait is the run's while it goes; once it has ended, the next run's (its entry keeps its own).
      guidance_interval: interval(ACTIVE.includes(model.get("status")) || !entry ? model.get("guidance_interval")
        : entry.guidance_interval),
      asked: model.get("guidance"),
    };
  }
  if (!entry) return null;
  return { guidance_scale: entry.guidance?.[0], done: entry.guidance?.length || 0, its: 0, ...entry, live: false,
    name: entry.name || (key > 0 ? `#${key}` : `gallery ${-key}`) };
}

const progress = (info) => `${info.done} / ${info.steps}`;

const quoted = (prompt) => `“${Array.isArray(prompt) ? prompt.join(" | ") : prompt}”`;
// The prompt edits applied during a run: ` → “a red star on yellow” from step 13` each.
const edits = (info) => (info.prompts || []).map((c) => ` → ${quoted(c.prompt)} from step ${c.step + 1}`).join("");

// One line per run in the pickers: what tells runs apart comes first, the prompt (and its edits) last.
export function runLabel(info) {
  const state = ACTIVE.includes(info.status) ? info.status : `${info.status} ${progress(info)}`;
  const last = info.prompts?.at(-1);
  const prompt = `${info.prompt || "(no prompt)"}${last ? ` → ${Array.isArray(last.prompt) ? last.prompt.join(" | ") : last.prompt}` : ""}`;
  return `${info.name} · ${state} · seed ${info.seed ?? "random"} · ${prompt}`;
}

// Both pickers list the history newest first; each keeps its choice while that run is listed.
// Options are updated in place, so an open list is not rebuilt under the pointer.
export function fillRuns(ui, model, viewKey) {
  const live = model.get("run_id");
  const infos = [...(model.get("runs") || [])].reverse().map((r) => runInfo(model, r.key));
  const fill = (select, first) => {
    const keep = select.value;
    const want = [[0, first], ...infos.map((info) => [info.key, runLabel(info)])];
    want.forEach(([value, text], i) => {
      let option = select.options[i];
      if (!option) select.append((option = h("option")));
      if (option.value !== String(value)) option.value = String(value);
      if (option.textContent !== text) option.textContent = text;
      option.title = text;
    });
    while (select.options.length > want.length) select.options[select.options.length - 1].remove();
    select.value = want.some(([value]) => String(value) === keep) ? keep : "0";
  };
  fill(ui.pick, live ? `Current run (#${live})` : "Current run");
  fill(ui.compare, "None");
  ui.pick.value = String(viewKey);
  if (ui.pick.value !== String(viewKey)) ui.pick.value = "0";
}

const fmt = (n) => Number(n).toFixed(1);
// Steps per second as they happen (a slow Pace included), and, where it is well above that, what
// the model computes at when nothing holds it back.
function speed({ its, rate }) {
  if (!(its > 0)) return "";
  if (!(rate > 0) || rate > 0.85 * its) return ` · ${fmt(its)} steps/s`;
  return ` · ${fmt(rate)} steps/s (computing alone: ${fmt(its)} steps/s)`;
}

// "#3: stopped at step 43 / 60 · 21.0 steps/s" — the state of the run on screen.
export function stateText(info, model) {
  if (!info) {
    if (!model.get("has_model")) return "No model attached: galleries added from Python show here.";
    return "Ready: no run yet.";
  }
  const where = {
    running: `running · step ${progress(info)}`,
    paused: `paused at step ${progress(info)}${(info.holds || []).includes(info.done)
      ? ` · held at breakpoint ${info.done}: Resume or Next step` : ""}`,
    finished: `finished · ${info.done} steps`,
    stopped: `stopped at step ${progress(info)}`,
    failed: `failed at step ${progress(info)}${info.error ? `: ${info.error}` : ""}`,
    pending: "starting…",
  }[info.status] || `${info.status} · step ${progress(info)}`;
  return `${info.name}: ${where}${speed(info)}`;
}

// A knob's first and last values: ` · guidance 5.0 → 7.0`.
const span = (name, first, last, digits) => (first == null ? "" : first === last
  ? ` · ${name} ${Number(first).toFixed(digits)}` : ` · ${name} ${Number(first).toFixed(digits)} → ${Number(last).toFixed(digits)}`);

// A run's later knobs (`info.knobs`; `knobs`: the model's), each where it left the model's default.
function laterKnobs(info, knobs = []) {
  return Object.entries(info.knobs || {}).map(([name, values]) => {
    const i = knobs.findIndex((k) => k.name === name), k = knobs[i] || { name, low: 0, high: 1 };
    if (!values.length || values.every((v) => v === k.default)) return "";
    return span(knobLabel(k, Math.max(i, 1)).toLowerCase(), values[0], values.at(-1), knobDigits(k));
  }).join("");
}

// The guidance's first and last values; with an interval, where it applied: ` · guidance 5.0 at
// steps 4–10` (1-based, both ends in; off elsewhere). Before a live run reaches it, the value asked.
function guidanceSpan(info) {
  const g = info.guidance || [];
  if (!info.guidance_interval) return span("guidance", g[0] ?? info.guidance_scale, g.at(-1) ?? info.guidance_scale, 1);
  const [a, b] = info.guidance_interval, inside = g.slice(a, b), at = ` at steps ${a + 1}–${b}`;
  const first = inside[0] ?? info.asked;
  return first == null ? ` · guidance${at}` : span("guidance", first, inside.at(-1) ?? first, 1) + at;
}

// The shown run's own parameters, as it was started, and its knobs' first and last values.
export function detailsText(info, knobs) {
  if (!info) return "";
  const guidance = guidanceSpan(info) + laterKnobs(info, knobs);
  const negative = info.negative_prompt ? ` · not: “${info.negative_prompt}”` : "";
  const branch = info.parent ? ` · branch of #${info.parent} at step ${info.branch_step}` : "";
  const guider = info.guider ? ` · ${info.guider}` : "";  // a modular pipeline's guider, by its class
  return `${quoted(info.prompt)}${edits(info)}${negative} · ${info.steps} steps · seed ${info.seed ?? "random"}${guider}${guidance}${branch}`;
}

// Buttons that cannot act now stay focusable (aria-disabled), so focus is never lost from under
// the keyboard when a run ends, and say why in their title.
export function enable(button, on, why = "") {
  if (button.getAttribute("aria-disabled") !== String(!on)) button.setAttribute("aria-disabled", String(!on));
  const title = (on ? button.dataset.title : why) || "";
  if (button.title !== title) {
    if (title) button.title = title;
    else button.removeAttribute("title");
  }
}
