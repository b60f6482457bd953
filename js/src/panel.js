// The widget's elements, each with its accessible name, and where they sit: the form on the
// left; the previews, scrubber, guidance curve and filmstrip on the right.

import { h, svgNode } from "./dom.js";

export function controls() {
  return {
    prompt: h("textarea", { "aria-label": "Prompt", rows: 2 }),
    negative: h("textarea", { "aria-label": "Negative prompt", rows: 1 }),
    steps: h("input", { type: "number", "aria-label": "Steps", min: 1, max: 1000 }),
    seed: h("input", { type: "number", "aria-label": "Seed", min: 0 }),
    guidance: h("input", { type: "range", "aria-label": "Guidance", min: 0, max: 20, step: 0.1 }),
    guidanceValue: h("output", { class: "sdw-guidance-value" }),
    generate: h("button", { type: "button" }, "Generate"),
    pause: h("button", { type: "button", "aria-label": "Pause" }, "Pause"),
    stop: h("button", { type: "button" }, "Stop"),
    image: h("img", { alt: "Live preview", class: "sdw-preview" }),
    other: h("img", { alt: "Compared preview", class: "sdw-preview", hidden: "" }),
    scrub: h("input", { type: "range", "aria-label": "Step", min: 1, max: 1, value: 1 }),
    stepLabel: h("span", { class: "sdw-step-label" }),
    status: h("div", { role: "status", class: "sdw-status" }),
    message: h("div", { role: "alert", class: "sdw-message" }),
    pick: h("select", { "aria-label": "Run" }),
    compare: h("select", { "aria-label": "Compare with" }),
    save: h("button", { type: "button" }, "Save gallery"),
    saved: h("div", { class: "sdw-saved", "aria-live": "polite" }),
    curve: svgNode("svg", { viewBox: "0 0 240 40", role: "img", "aria-label": "Guidance per step", class: "sdw-curve" }),
  };
}

export function layout(el, ui, strip) {
  el.classList.add("sdw");
  el.append(
    h("div", { class: "sdw-form" },
      h("label", {}, "Prompt", ui.prompt), h("label", {}, "Negative prompt", ui.negative),
      h("div", { class: "sdw-row" }, h("label", {}, "Steps", ui.steps), h("label", {}, "Seed", ui.seed)),
      h("div", { class: "sdw-row" }, h("label", {}, "Guidance", ui.guidance), ui.guidanceValue),
      h("div", { class: "sdw-row" }, ui.generate, ui.pause, ui.stop), ui.status, ui.message,
      h("label", {}, "Run", ui.pick), h("label", {}, "Compare with", ui.compare),
      h("div", { class: "sdw-row" }, ui.save), ui.saved),
    h("div", { class: "sdw-view" }, h("div", { class: "sdw-row" }, ui.image, ui.other),
      h("div", { class: "sdw-row" }, ui.scrub, ui.stepLabel), ui.curve, strip),
  );
}
