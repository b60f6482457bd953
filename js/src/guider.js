// The Guider select (accessible name "Guider") above the Guidance slider, shown only where the
// pipeline has a guider to swap (a modular pipeline's): the `guiders` trait lists the ones its
// family builds by name ({name, label}), `guider` is the pipeline's. Choosing one sends
// `{type: "guider", name}`; the kernel swaps it for the next runs and the Knob select then lists the
// new guider's knobs (the `knobs` trait), or refuses while a run goes, with the reason as the
// message, and the select shows the kernel's guider again.

import { h } from "./dom.js";

export function guiderSelect(ctx) {
  const { model, ui } = ctx;
  const select = h("select", { "aria-label": "Guider", style: "width:auto", "data-lm-suppress-shortcuts": "true",
    title: "How each step is guided (diffusers' guiders), for the next runs; its settings join the Knob list" });
  const row = h("label", { class: "sdw-row sdw-pace", hidden: true }, h("span", {}, "Guider"), select);
  ui.knobPick.closest(".sdw-field").before(row);
  let built = ""; // the guider names the select lists

  function show() {
    const choices = model.get("guiders") || [], names = choices.map((c) => c.name).join(",");
    row.hidden = choices.length === 0;
    if (names !== built) {
      built = names;
      select.replaceChildren(...choices.map((c) => h("option", { value: c.name, title: c.name }, c.label)));
    }
    select.value = model.get("guider");
  }

  ctx.listen(select, "change", () => {
    ctx.say("");
    model.send({ type: "guider", name: select.value });
  });
  ctx.on("change:guiders", show);
  ctx.on("change:guider", show);
  ctx.on("change:message", () => model.get("message") && show()); // refused: the kernel's guider stands
  show();
}
