// The form that makes a run: Prompt, Negative prompt, Steps, Seed, Guidance and Generate, and
// Apply prompt for an edit made while a run goes. The kernel fills the fields (on open, when a run
// starts, when guidance is set), never one the user has typed into since the last Generate.

import { enable, FIELDS, fillField, readForm } from "./form.js";

export function composer(ctx) {
  const { model, ui } = ctx;
  const { prompt, negative, guidance, guidanceValue, generate, applyPrompt } = ui;
  const form = { dirty: new Set(), seedRandom: false };
  let sentGuidance = []; // values the Guidance slider sent that the kernel has not echoed yet
  const fill = (name) => fillField(ui, model, name, form);

  function show() {
    const running = ctx.running();
    enable(generate, model.get("has_model") && !running,
      running ? "A run is going: Stop it or wait for it to finish, then Generate" : "No model attached");
    applyPrompt.hidden = !(running && (form.dirty.has("prompt") || form.dirty.has("negative")));
    // Flux's distilled guidance runs no CFG: a negative prompt there does nothing.
    negative.placeholder = model.get("guidance_kind") === "distilled" ? "Not used by distilled guidance" : "";
    guidance.title = model.get("knobs")?.[0]?.meaning ?? ""; // what a value means on this model, from its family
  }

  ctx.listen(generate, "click", () => {
    if (generate.getAttribute("aria-disabled") === "true") return ctx.say(generate.title);
    const { problems, message } = readForm(ui);
    for (const name of ["steps", "seed"]) ui[name].setAttribute("aria-invalid", String(problems.some(([p]) => p === name)));
    if (problems.length) {
      ui[problems[0][0]].focus();
      return ctx.say(problems.map(([, text]) => text).join(" "));
    }
    const schedule = ctx.curve.takePlan(message.steps);
    if (schedule) Object.assign(message, { schedule, guidance: schedule[0] });
    ctx.say("");
    form.seedRandom = message.seed === null;
    form.dirty.clear(); // what the form holds is what was sent; the run's values will match it
    ctx.history.view(0);
    ctx.steering.leaveBreakMode();
    ctx.busy(generate);
    model.send(message);
  });
  ctx.listen(applyPrompt, "click", () => {
    ctx.say("");
    ctx.busy(applyPrompt);
    model.send({ type: "prompt", prompt: prompt.value, negative_prompt: negative.value });
    form.dirty.delete("prompt");
    form.dirty.delete("negative");
    ctx.update();
  });
  for (const name of ["prompt", "negative", "steps", "seed"]) {
    ctx.listen(ui[name], "input", () => {
      form.dirty.add(name);
      if (name === "seed") form.seedRandom = false;
      ui[name].removeAttribute("aria-invalid");
      if (name !== "seed") ctx.update();
    });
  }
  ctx.listen(guidance, "input", () => (guidanceValue.textContent = Number(guidance.value).toFixed(1)));
  ctx.listen(guidance, "change", () => {
    ctx.say("");
    const value = Number.parseFloat(guidance.value);
    if (value === model.get("guidance") && !sentGuidance.length) return; // asked for already
    sentGuidance.push(value);
    model.send({ type: "guidance", value });
  });
  for (const [name, trait] of Object.entries(FIELDS)) if (name !== "guidance") ctx.on(`change:${trait}`, () => fill(name));
  // The kernel echoes each value the slider sends; while later ones are on their way, an echo
  // would move the slider back under the user's hand. Any other value (a run started with its
  // own guidance, one set from Python) is shown at once.
  ctx.on("change:guidance", () => {
    const i = sentGuidance.indexOf(model.get("guidance"));
    sentGuidance = i < 0 ? [] : sentGuidance.slice(i + 1);
    if (!sentGuidance.length) fill("guidance");
  });
  Object.keys(FIELDS).forEach(fill);
  ctx.statuses.push(show);
  return {
    // Use these settings: the shown run's prompt, steps and seed into the form, as typed there.
    fillFrom(info) {
      prompt.value = info.prompt ?? "";
      negative.value = info.negative_prompt ?? "";
      ui.steps.value = info.steps ?? "";
      ui.seed.value = info.seed ?? "";
      form.seedRandom = false;
      ["prompt", "negative", "steps", "seed"].forEach((name) => form.dirty.add(name));
    },
  };
}
