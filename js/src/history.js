// History and compare: the Run and Compare with pickers (newest first), which run the view shows
// (`ctx.viewKey`, 0 following the current run), and the buttons about the shown run: Use these
// settings, Save gallery, Enlarge preview.

import { enable, fillRuns, runInfo } from "./form.js";

export function historyBar(ctx) {
  const { model, ui, el } = ctx;
  const { pick, compare, save, reuse, enlarge } = ui;
  const options = () => fillRuns(ui, model, ctx.viewKey);

  // Show run `key` (0: follow the current run); a key that left the history shows the current run.
  function view(key) {
    const listed = (model.get("runs") || []).some((r) => r.key === key);
    ctx.viewKey = listed ? key : 0;
    ctx.preview?.reset();
    ctx.curve?.reset();
    pick.value = String(ctx.viewKey);
    ctx.need(ctx.shown());
    ctx.update();
  }

  function show() {
    const info = runInfo(model, ctx.shown());
    enable(save, Boolean(info) && !model.get("saving"), model.get("saving") ? "Saving a gallery…" : "No run to save");
    enable(reuse, Boolean(info), "No run shown");
  }

  const disabled = (button) => button.getAttribute("aria-disabled") === "true";
  ctx.listen(save, "click", () => {
    if (disabled(save)) return;
    ctx.say("");
    ctx.busy(save);
    model.send({ type: "save", run: ctx.shown() });
  });
  ctx.listen(reuse, "click", () => {
    if (disabled(reuse)) return;
    ctx.say("");
    ctx.compose.fillFrom(runInfo(model, ctx.shown()));
  });
  ctx.listen(enlarge, "click", () => {
    const on = !el.classList.contains("sdw-large");
    el.classList.toggle("sdw-large", on);
    enlarge.setAttribute("aria-pressed", String(on));
  });
  ctx.listen(pick, "change", () => view(Number(pick.value)));
  ctx.listen(compare, "change", () => (ctx.need(ctx.compareKey()), ctx.schedule()));
  ctx.on("change:runs", () => {
    if (ctx.viewKey && !(model.get("runs") || []).some((r) => r.key === ctx.viewKey)) view(0); // it left the history
    options();
  });
  ctx.on("change:status", options);
  ctx.on("change:view", () => view(model.get("view")));
  ctx.statuses.push(show);
  options();
  return { view };
}
