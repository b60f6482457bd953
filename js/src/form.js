// What the form shows of the model's traits: the inputs' values, the run pickers and the
// status line. Plain writes into the elements of panel.js; the view decides when to call them.

import { h } from "./dom.js";

// The inputs as the kernel last set them (on open, and when a run starts or guidance changes).
export function fillForm(ui, model) {
  ui.prompt.value = model.get("prompt");
  ui.negative.value = model.get("negative_prompt");
  ui.steps.value = model.get("steps");
  ui.seed.value = model.get("seed");
  ui.guidance.value = model.get("guidance");
  ui.guidanceValue.textContent = Number(model.get("guidance")).toFixed(1);
}

// Both pickers list the history newest first; each keeps its choice while that run is listed.
export function fillRuns(ui, runs, viewKey) {
  const label = (r) => `#${Math.abs(r.key)} ${r.source === "run" ? "" : "(gallery) "}${r.prompt.slice(0, 32)} · ${r.status}`;
  const newest = [...runs].reverse();
  const fill = (select, first) => {
    const keep = select.value;
    select.replaceChildren(h("option", { value: 0 }, first), ...newest.map((r) => h("option", { value: r.key }, label(r))));
    select.value = newest.some((r) => String(r.key) === keep) ? keep : "0";
  };
  fill(ui.pick, "Current run");
  fill(ui.compare, "None");
  ui.pick.value = String(viewKey);
}

// Status line, button states and messages; `shown` is the key of the run on screen (0: none).
export function showStatus(ui, model, shown) {
  const state = model.get("status");
  const applied = model.get("applied");
  const now = applied.length ? ` · guidance ${applied[applied.length - 1].toFixed(1)}` : "";
  const error = model.get("error") ? ` — ${model.get("error")}` : "";
  ui.status.textContent = `Step ${model.get("step")} / ${model.get("total")} · ${model.get("its").toFixed(1)} it/s${now} · ${state}${error}`;
  const label = state === "paused" ? "Resume" : "Pause";
  ui.pause.textContent = label;
  ui.pause.setAttribute("aria-label", label);
  ui.pause.disabled = ui.stop.disabled = !["running", "paused"].includes(state);
  ui.generate.disabled = !model.get("has_model");
  ui.save.disabled = !shown || model.get("saving");
  ui.message.textContent = model.get("message");
  const name = model.get("saved");
  ui.saved.textContent = model.get("saving") ? "Saving gallery…" : name ? `Saved gallery ${name}` : "";
}
