// The guidance interval's two handles on the guidance chart: guidance applies at the steps between
// them and is off elsewhere (the `guidance_interval` trait: [first, end), 0-based; empty: every
// step). Each handle is a focusable slider with its own accessible name, moved by the arrow keys
// (Home, End, Page Up and Page Down too) or dragged; each move is sent as `{type: "interval", first,
// end}` (nulls: every step), which the kernel applies to the running run from its next step or
// keeps for the next run. The chart shades the interval (chart.js); the handles sit at its edges.
// A run shown without the handles (an older one, a loaded gallery) is shaded where its own record
// says guidance applied (its history entry's `guidance_interval`).

import { h } from "./dom.js";
import { stepAt, stepX } from "./chart.js";
import { runInfo } from "./form.js";

// Each handle a grip on a bar at the edge, reaching into the interval (never out of the chart).
const BAR = "position:absolute;top:-4px;bottom:-4px;width:14px;cursor:ew-resize;touch-action:none;z-index:1;"
  + "display:flex;border-radius:3px";
const LINE = "width:3px;height:100%;background:var(--sdw-accent);border-radius:2px";
const GRIP = "position:absolute;top:0;width:10px;height:10px;border-radius:50%;background:var(--sdw-accent);"
  + "border:2px solid var(--jp-layout-color1, #fff)";
// Each handle: its accessible name, its 1-based value in the interval [first, end), and its side.
const HANDLES = [
  { label: "Guidance starts at step", value: ([first]) => first + 1, side: "margin-left:-2px", grip: "left:0" },
  { label: "Guidance ends at step", value: ([, end]) => end, side: "margin-left:-12px;justify-content:flex-end",
    grip: "right:0" },
];

export function intervalHandles(ctx, curve) {
  const { model } = ctx;
  let n = 0; // the steps the chart shows
  let moved = null; // [first, end] moved on this page and not yet answered by the kernel
  let drag = null; // the handle's index while dragging it
  const nodes = HANDLES.map(({ label, side, grip }, i) => {
    const node = h("div", { role: "slider", tabindex: "0", "aria-label": label, "aria-orientation": "horizontal",
      "data-lm-suppress-shortcuts": "true", class: "sdw-interval-handle", style: `${BAR};${side}`, hidden: true,
      title: `${label}: drag, or use the arrow keys. Guidance is off (one model pass a step) outside the shaded steps` },
    h("span", { style: LINE, "aria-hidden": "true" }), h("span", { style: `${GRIP};${grip}`, "aria-hidden": "true" }));
    node.addEventListener("keydown", (event) => key(event, i));
    node.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      node.setPointerCapture(event.pointerId);
      node.focus();
      drag = i;
    });
    node.addEventListener("pointermove", (event) => {
      const step = drag === i ? stepAt(curve, event.clientX) : null;
      if (step !== null) set(i, i === 0 ? step : step + 1, false);
    });
    const end = () => drag === i && ((drag = null), send());
    node.addEventListener("pointerup", end);
    node.addEventListener("pointercancel", end);
    return node;
  });
  curve.svg.parentElement.append(...nodes);

  // The interval on the chart: moved here, else the kernel's, else every step; within the chart's steps.
  function current() {
    const [first, end] = moved || model.get("guidance_interval") || [];
    if (first == null || n < 1) return [0, n];
    const f = Math.min(first, n - 1);
    return [f, Math.max(f + 1, Math.min(end, n))];
  }

  // The shown run's own interval, where the handles are not on its chart; within its steps.
  function recorded() {
    const [first, end] = runInfo(model, ctx.preview.where()?.key)?.guidance_interval || [];
    return first == null || n < 2 ? null : [Math.min(first, n - 1), Math.min(end, n)];
  }

  // Handle `i` to `to` (the 0-based first step, or the end), kept on its side of the other one.
  function set(i, to, sendNow = true) {
    const [first, end] = current();
    moved = i === 0 ? [Math.max(0, Math.min(to, end - 1)), end] : [first, Math.max(first + 1, Math.min(to, n))];
    place();
    if (sendNow) send();
    ctx.schedule();
  }

  function send() {
    if (!moved) return;
    const [first, end] = moved;
    ctx.say("");
    model.send(first === 0 && end === n ? { type: "interval", first: null, end: null } : { type: "interval", first, end });
  }

  function key(event, i) {
    const [first, end] = current(), at = i === 0 ? first : end, page = Math.max(1, Math.round(n / 10));
    const to = { ArrowLeft: at - 1, ArrowDown: at - 1, ArrowRight: at + 1, ArrowUp: at + 1, PageDown: at - page,
      PageUp: at + page, Home: i === 0 ? 0 : first + 1, End: i === 0 ? end - 1 : n }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    if (to !== at) set(i, to);
  }

  // The handles at the shaded edges, with their values; hidden where the chart is not the running
  // or the next run's, where it has one step, and for a guidance with no off value.
  function place(steps = n, shown = !nodes[0].hidden) {
    n = steps;
    const on = shown && n > 1;
    const interval = current();
    nodes.forEach((node, i) => {
      node.hidden = !on;
      if (!on) return;
      const value = HANDLES[i].value(interval), edge = i === 0 ? interval[0] - 0.5 : interval[1] - 0.5;
      node.style.left = `${stepX(Math.min(Math.max(edge, 0), n - 1), n) * 100}%`;
      const [low, high] = i === 0 ? [1, interval[1]] : [interval[0] + 1, n];
      for (const [name, v] of [["aria-valuemin", low], ["aria-valuemax", high], ["aria-valuenow", value]])
        node.setAttribute(name, String(v));
      node.setAttribute("aria-valuetext", `step ${value} of ${n}`);
    });
  }

  ctx.on("change:guidance_interval", () => ((moved = null), ctx.update()));
  ctx.on("change:message", () => model.get("message") && (moved = null)); // refused: the kernel's stands
  return {
    // What the chart shades: the handles' interval, else the shown run's own; null for every step.
    shaded: () => {
      const interval = nodes[0].hidden ? recorded() : current();
      return !interval || (interval[0] === 0 && interval[1] === n) ? null : interval;
    },
    // Called by the chart with the steps it shows and whether the handles belong on it.
    place: (steps, editable) => place(steps, editable && model.get("guidance_kind") !== "distilled"),
  };
}
