// The form that makes a run: Prompt, Negative prompt, Steps, Seed, Guidance and Generate, and
// Apply prompt for an edit made while a run goes (the wait for its encoding: encoding.js). The
// kernel fills the fields (on open, when a run starts), never one the user has typed into since
// the last Generate; the knob slider is knobs.js's.

import { promptEncoding } from "./encoding.js";
import { enable, FIELDS, fillField, readForm } from "./form.js";

export function composer(ctx) {
  const { model, ui } = ctx;
  const { prompt, negative, generate, applyPrompt } = ui;
  const form = { dirty: new Set(), seedRandom: false };
  const fill = (name) => fillField(ui, model, name, form);
  const encoding = promptEncoding(ctx);

  function show() {
    const running = ctx.running();
    enable(generate, model.get("has_model") && !running,
      running ? "A run is going: Stop it or wait for it to finish, then Generate" : "No model attached");
    applyPrompt.hidden = !(running && (form.dirty.has("prompt") || form.dirty.has("negative")));
    // Flux's distilled guidance runs no CFG: a negative prompt there does nothing.
    negative.placeholder = model.get("guidance_kind") === "distilled" ? "Not used by distilled guidance" : "";
  }

  ctx.listen(generate, "click", () => {
    if (generate.getAttribute("aria-disabled") === "true") return ctx.say(generate.title);
    const { problems, message } = readForm(ui, ctx.knobs.asked(0));
    for (const name of ["steps", "seed"]) ui[name].setAttribute("aria-invalid", String(problems.some(([p]) => p === name)));
    if (problems.length) {
      ui[problems[0][0]].focus();
      return ctx.say(problems.map(([, text]) => text).join(" "));
    }
    const { schedule, knobs } = ctx.curve.takePlan(message.steps);
    if (schedule) Object.assign(message, { schedule, guidance: schedule[0] });
    if (knobs) message.knob_schedules = knobs;
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
    encoding.start();
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
  for (const [name, trait] of Object.entries(FIELDS)) ctx.on(`change:${trait}`, () => fill(name));
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
