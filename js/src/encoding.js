// A prompt edit's encoding, said in the status region: the new prompt is encoded in the kernel
// before it can apply, and a large language model as text encoder (Qwen2.5-VL, Mistral, Qwen3)
// takes seconds, so the wait counts up until the kernel's `prompt_encoded` reply, which carries
// the time it measured. The count itself is hidden from screen readers: announced are the start
// and the outcome, not every tenth of a second.

import { h } from "./dom.js";

export const encodedText = (seconds) => `Prompt encoded in ${seconds.toFixed(1)} s; it applies from the next step`;

export function promptEncoding(ctx) {
  const { model, ui } = ctx;
  const count = h("span", { "aria-hidden": "true" });
  const line = h("div", { class: "sdw-encoding", hidden: true });
  let started = 0, timer = 0;

  const say = (text, counting = false) => {
    line.replaceChildren(text, ...(counting ? [count] : []));
    line.hidden = !text;
  };
  const tick = () => (count.textContent = ` ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const stop = () => {
    clearInterval(timer);
    timer = 0;
  };

  ctx.on("msg:custom", (msg) => {
    if (msg?.type !== "prompt_encoded" || !timer) return;
    stop();
    // A failure's words are the kernel's message (the alert line); this line only says the outcome.
    say(msg.error ? "The new prompt was not applied" : encodedText(msg.seconds));
  });
  ctx.on("change:run_id", () => timer || say("")); // an outcome belongs to the run it was edited in
  ctx.offs.push(stop);
  return {
    // Apply prompt was pressed: count until the kernel answers.
    start() {
      stop();
      ui.status.append(line); // last in the status region, under the run's state (laid out by now)
      started = performance.now();
      say("Encoding the new prompt…", true);
      tick();
      timer = setInterval(tick, 100);
    },
  };
}
