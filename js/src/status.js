// Status and details: the one status region (the shown run's state, the current run's when
// another is shown, where its gallery was saved), the shown run's own parameters and prompt
// edits, and the message line (a refusal from the kernel or from the form's own checks).

import { detailsText, runInfo, stateText } from "./form.js";

export const setText = (node, value) => node.textContent !== value && (node.textContent = value);

export function statusLines(ctx) {
  const { model, ui } = ctx;

  ctx.showMessage = () => setText(ui.message, ctx.local || model.get("message"));

  function show() {
    const key = ctx.shown(), info = runInfo(model, key);
    setText(ui.stateLine, stateText(info, model));
    const liveInfo = key !== ctx.live() && ctx.running() ? runInfo(model, ctx.live()) : null;
    ui.liveLine.hidden = !liveInfo;
    setText(ui.liveLine, liveInfo ? `Current run ${stateText(liveInfo, model)}` : "");
    setText(ui.details, detailsText(info, model.get("knobs")));
    ctx.showMessage();
    // A save belongs to its run: said under that run only, with the folder it went to.
    setText(ui.saved, model.get("saving") ? "Saving gallery…"
      : info?.saved ? `Saved gallery of ${info.name} to ${info.saved}` : "");
    ui.saved.hidden = !ui.saved.textContent;
  }

  ctx.statuses.push(show);
  ctx.on("change:message", () => {
    if (model.get("message")) ctx.local = "";
    ctx.showMessage();
  });
  return { show };
}
