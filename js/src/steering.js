// The steering bar: Pause/Resume and Stop, Next step (and the n key), Pace, the Breakpoints mode
// with the next run's holds (each a button that removes it, and Clear holds), and the actions on
// the shown step: Branch from here and Decode step. Buttons that wait for the kernel show pressed.

import { h } from "./dom.js";
import { enable, runInfo } from "./form.js";

const TYPED = ["TEXTAREA", "INPUT", "SELECT"]; // where the letter n is text, not Next step
const BRANCHABLE = ["finished", "stopped", "paused"];

export function steeringBar(ctx) {
  const { model, ui, el, store } = ctx;
  const { pause, stop, next, pace, breakpoints, breakList, clearHolds, branch, decode } = ui;
  let breakMode = false; // the Breakpoints toggle: the curve shows the next run, clicks set holds
  let holdsShown = null; // what the holds list shows, so it is rebuilt only when that changes

  function toggleBreak(step) {
    const set = new Set(model.get("breakpoints") || []);
    if (set.has(step)) set.delete(step);
    else set.add(step);
    model.send({ type: "breakpoints", steps: [...set].sort((a, b) => a - b) });
  }

  function showHolds(holds, running) {
    const hint = holds.length || !breakMode ? "" : running ? "Holds are set for the next run, once this one ends"
      : "Click the curve or a frame to hold there";
    clearHolds.hidden = holds.length < 2;
    const key = `${holds.join(",")}|${hint}`;
    if (holdsShown === key) return;
    holdsShown = key;
    breakList.replaceChildren(...(holds.length ? ["Next run holds at step", ...holds.flatMap((step) => [" ",
      h("button", { type: "button", class: "sdw-hold", "aria-label": `Remove hold at step ${step}`,
        title: `Remove the hold at step ${step}`, "data-lm-suppress-shortcuts": "true",
        onclick: () => toggleBreak(step) }, `${step} ×`)])] : [hint]));
  }

  function show() {
    const key = ctx.shown(), info = runInfo(model, key), state = model.get("status"), running = ctx.running();
    const label = state === "paused" ? "Resume" : "Pause";
    if (pause.textContent !== label) pause.textContent = label;
    pause.setAttribute("aria-label", label);
    enable(pause, running, "No run is going");
    enable(stop, running, "No run is going");
    enable(next, state === "paused", "Only while the current run is paused");
    const shown = store.count(key) > 0;
    enable(branch, key > 0 && Boolean(info) && BRANCHABLE.includes(info.status) && shown, key < 0
      ? "A loaded gallery cannot be continued" : !shown ? "No step shown yet"
        : "Only a finished, stopped or paused run can be branched");
    enable(decode, key > 0 && shown, key < 0 ? "A loaded gallery's latents were not kept" : "No step shown yet");
    const pacing = String(model.get("pace") || 0);
    if (![...pace.options].some((o) => o.value === pacing)) pace.append(h("option", { value: pacing }, `${pacing} steps/s`));
    if (pace.value !== pacing) pace.value = pacing;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    el.classList.toggle("sdw-breakmode", breakMode && !running);
    showHolds(model.get("breakpoints") || [], running);
  }

  const disabled = (button) => button.getAttribute("aria-disabled") === "true";
  const act = (button, send, waits = true) => ctx.listen(button, "click", () => {
    if (disabled(button)) return;
    ctx.say("");
    if (waits) ctx.busy(button);
    send();
  });
  act(pause, () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  act(stop, () => model.send({ type: "stop" }));
  act(next, () => model.send({ type: "step" }));
  act(clearHolds, () => model.send({ type: "breakpoints", steps: [] }), false);
  act(branch, () => {
    const key = ctx.shown(), info = runInfo(model, key), where = ctx.preview.where();
    if (!where || where.key !== key) return;
    // The form's knobs, as for the guidance: the branch runs at what the slider says for each.
    const message = { type: "branch", run: key, step: where.atFinal ? where.n : where.pos + 1,
      guidance: ctx.knobs.asked(0) };
    const knobs = ctx.knobs.laterAsked();
    if (Object.keys(knobs).length) message.knobs = knobs;
    if (ui.prompt.value !== (info.prompt ?? "")) message.prompt = ui.prompt.value;
    if (ui.negative.value !== (info.negative_prompt ?? "")) message.negative_prompt = ui.negative.value;
    ctx.curve.branched();
    ctx.history.view(0);
    model.send(message);
  });
  act(decode, () => {
    const where = ctx.preview.where();
    if (!where || where.key !== ctx.shown()) return;
    const step = where.atFinal ? where.n - 1 : where.pos;
    if (where.atFinal) ctx.preview.pickStep(step); // the decode of the last step shows at that step
    model.send({ type: "decode", run: where.key, step });
  });
  ctx.listen(breakpoints, "click", () => {
    breakMode = !breakMode;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    ctx.curve.reset();
    ctx.update();
  });
  ctx.listen(pace, "change", () => {
    const value = Number(pace.value);
    model.send({ type: "pace", value: value > 0 ? value : null });
  });
  // n: Next step, anywhere in the widget but a text field or picker.
  ctx.listen(el, "keydown", (event) => {
    if (event.key !== "n" || event.ctrlKey || event.metaKey || event.altKey || TYPED.includes(event.target.tagName)) return;
    event.preventDefault();
    next.click();
  });
  ctx.statuses.push(show);
  return {
    breakMode: () => breakMode,
    toggleBreak,
    leaveBreakMode: () => (breakMode = false),
  };
}
