// Preview for a guidance the model takes as an input (distilled: FLUX.1-dev, FLUX.2 [dev]): there a
// value's preview costs the step's model call, so the kernel refuses a slider move's lens with an
// offer (how many calls) and this button, beside the note saying so, asks for that value with `paid`
// once pressed. Never on a slider move: a drag would queue a model call per value. A value paid for
// comes back from the kernel's cache on later moves, with no press. A held run's next step is offered
// the same way: Preview makes its model call early (the one Next step needs) and one at the value.

import { h } from "./dom.js";
import { setText } from "./status.js";

const calls = (n) => (n === 1 ? "one model call" : `${n} model calls`);

// `press()`: ask for the shown value with its model call. `paint(offer, guidance)`: the button for
// the newest answer (hidden where it made no offer).
export function paidPreview(ctx, after, press) {
  const button = h("button", { type: "button", hidden: true, "data-lm-suppress-shortcuts": "true",
    title: "This model takes guidance as an input: its preview at another value costs the step's model call" },
  "Preview");
  after.after(button);
  ctx.listen(button, "click", () => {
    button.hidden = true;
    press();
  });
  return {
    paint(offer, guidance) {
      if (button.hidden !== !offer) button.hidden = !offer;
      if (offer) setText(button, `Preview at ${Number(guidance).toFixed(1)} (${calls(offer)})`);
    },
  };
}
