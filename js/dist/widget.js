// src/dom.js
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}
var SVG = "http://www.w3.org/2000/svg";
function svgNode(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  return node;
}
function sparkline(svg, series, current, total) {
  const width = 240, height = 40, top = Math.max(10, ...series.flat());
  const x = (i) => total > 1 ? i / (total - 1) * (width - 8) + 4 : width / 2;
  const y = (g) => height - 4 - g / top * (height - 8);
  svg.replaceChildren(svgNode("line", { x1: 0, x2: width, y1: y(1), y2: y(1), class: "sdw-cfg-line" }));
  series.forEach((values, n) => {
    const points = values.map((g, i) => `${x(i)},${y(g)}`).join(" ");
    svg.append(svgNode("polyline", { points, class: n ? "sdw-compare-line" : "sdw-main-line" }));
  });
  const main = series[0] || [];
  if (current >= 0 && current < main.length) svg.append(svgNode("circle", { cx: x(current), cy: y(main[current]), r: 3 }));
}

// src/frames.js
var FrameStore = class {
  constructor() {
    this.byRun = /* @__PURE__ */ new Map();
  }
  get(key) {
    return this.byRun.get(key) || [];
  }
  has(key) {
    return this.byRun.has(key);
  }
  add(key, metas, buffers) {
    const frames = this.byRun.get(key) || [];
    metas.forEach((meta, i) => frames[meta.step] = { ...meta, blob: new Blob([buffers[i]], { type: "image/png" }) });
    this.byRun.set(key, frames);
    return frames;
  }
};
var Filmstrip = class {
  constructor(onPick) {
    this.el = h("div", { class: "sdw-filmstrip", role: "list", "aria-label": "Filmstrip" });
    this.onPick = onPick;
    this.urls = [];
  }
  clear() {
    this.urls.forEach((url) => URL.revokeObjectURL(url));
    this.urls = [];
    this.el.replaceChildren();
  }
  // Adds thumbnails for frames not shown yet; frames arrive in step order.
  sync(frames, current) {
    for (let i = this.urls.length; i < frames.length && frames[i]; i++) {
      const url = URL.createObjectURL(frames[i].blob);
      this.urls.push(url);
      const img = h("img", { src: url, alt: `step ${i + 1}`, role: "listitem", title: `step ${i + 1} \xB7 g ${frames[i].guidance}` });
      img.addEventListener("click", () => this.onPick(i));
      this.el.append(img);
    }
    [...this.el.children].forEach((img, i) => img.classList.toggle("sdw-current", i === current));
  }
};

// src/model.js
var states = /* @__PURE__ */ new Set();
function stateOf(model) {
  const runs = model.get("runs");
  for (const state of states) if (state.model.get("runs") === runs) return state;
  return null;
}
function initialize({ model }) {
  const store = new FrameStore();
  const watchers = /* @__PURE__ */ new Set();
  const requested = /* @__PURE__ */ new Set();
  function need(key) {
    if (!key || store.has(key) || requested.has(key)) return;
    requested.add(key);
    model.send({ type: "frames", run: key });
  }
  function receive(msg, buffers) {
    if (msg.type !== "frames" && msg.type !== "history") return;
    const key = msg.type === "history" ? msg.run : msg.frames[0]?.run;
    store.add(key, msg.frames, buffers);
    if (msg.type === "history") requested.clear();
    if (msg.type === "frames") model.send({ type: "ack", run: key });
    watchers.forEach((watch) => watch(key));
  }
  const state = {
    model,
    store,
    need,
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    }
  };
  model.on("msg:custom", receive);
  states.add(state);
  const current = model.get("run_id");
  if (current) {
    requested.add(current);
    model.send({ type: "sync" });
  }
  return () => {
    model.off("msg:custom", receive);
    states.delete(state);
  };
}

// src/form.js
function fillForm(ui, model) {
  ui.prompt.value = model.get("prompt");
  ui.negative.value = model.get("negative_prompt");
  ui.steps.value = model.get("steps");
  ui.seed.value = model.get("seed");
  ui.guidance.value = model.get("guidance");
  ui.guidanceValue.textContent = Number(model.get("guidance")).toFixed(1);
}
function fillRuns(ui, runs, viewKey) {
  const label = (r) => `#${Math.abs(r.key)} ${r.source === "run" ? "" : "(gallery) "}${r.prompt.slice(0, 32)} \xB7 ${r.status}`;
  const newest = [...runs].reverse();
  const fill = (select, first) => {
    const keep = select.value;
    select.replaceChildren(h("option", { value: 0 }, first), ...newest.map((r) => h("option", { value: r.key }, label(r))));
    select.value = newest.some((r) => String(r.key) === keep) ? keep : "0";
  };
  fill(ui.pick, "Current run");
  fill(ui.compare, "None");
  ui.pick.value = String(viewKey);
}
function showStatus(ui, model, shown) {
  const state = model.get("status");
  const applied = model.get("applied");
  const now = applied.length ? ` \xB7 guidance ${applied[applied.length - 1].toFixed(1)}` : "";
  const error = model.get("error") ? ` \u2014 ${model.get("error")}` : "";
  ui.status.textContent = `Step ${model.get("step")} / ${model.get("total")} \xB7 ${model.get("its").toFixed(1)} it/s${now} \xB7 ${state}${error}`;
  const label = state === "paused" ? "Resume" : "Pause";
  ui.pause.textContent = label;
  ui.pause.setAttribute("aria-label", label);
  ui.pause.disabled = ui.stop.disabled = !["running", "paused"].includes(state);
  ui.generate.disabled = !model.get("has_model");
  ui.save.disabled = !shown || model.get("saving");
  ui.message.textContent = model.get("message");
  const name = model.get("saved");
  ui.saved.textContent = model.get("saving") ? "Saving gallery\u2026" : name ? `Saved gallery ${name}` : "";
}

// src/panel.js
function controls() {
  return {
    prompt: h("textarea", { "aria-label": "Prompt", rows: 2 }),
    negative: h("textarea", { "aria-label": "Negative prompt", rows: 1 }),
    steps: h("input", { type: "number", "aria-label": "Steps", min: 1, max: 1e3 }),
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
    curve: svgNode("svg", { viewBox: "0 0 240 40", role: "img", "aria-label": "Guidance per step", class: "sdw-curve" })
  };
}
function layout(el, ui, strip) {
  el.classList.add("sdw");
  el.append(
    h(
      "div",
      { class: "sdw-form" },
      h("label", {}, "Prompt", ui.prompt),
      h("label", {}, "Negative prompt", ui.negative),
      h("div", { class: "sdw-row" }, h("label", {}, "Steps", ui.steps), h("label", {}, "Seed", ui.seed)),
      h("div", { class: "sdw-row" }, h("label", {}, "Guidance", ui.guidance), ui.guidanceValue),
      h("div", { class: "sdw-row" }, ui.generate, ui.pause, ui.stop),
      ui.status,
      ui.message,
      h("label", {}, "Run", ui.pick),
      h("label", {}, "Compare with", ui.compare),
      h("div", { class: "sdw-row" }, ui.save),
      ui.saved
    ),
    h(
      "div",
      { class: "sdw-view" },
      h("div", { class: "sdw-row" }, ui.image, ui.other),
      h("div", { class: "sdw-row" }, ui.scrub, ui.stepLabel),
      ui.curve,
      strip
    )
  );
}

// src/view.js
var DONE = ["finished", "stopped", "failed"];
var STATUS_TRAITS = [
  "status",
  "step",
  "total",
  "its",
  "error",
  "message",
  "applied",
  "image",
  "run_id",
  "saved",
  "saving",
  "has_model"
];
function render({ model, el }) {
  const ownInit = stateOf(model) ? null : initialize({ model });
  const { store, need, watch } = stateOf(model);
  const ui = controls();
  const {
    prompt,
    negative,
    steps,
    seed,
    guidance,
    guidanceValue,
    generate,
    pause,
    stop,
    image,
    other,
    scrub,
    stepLabel,
    pick,
    compare,
    save,
    curve
  } = ui;
  const stats = window.sdwidgetStats ?? (window.sdwidgetStats = { latencies: [], paints: 0 });
  const strip = new Filmstrip((i) => {
    pinned = true;
    scrub.value = i + 1;
    schedule();
  });
  let viewKey = 0, stripKey = null, pinned = false, scheduled = 0;
  const urls = /* @__PURE__ */ new Map();
  const live = () => model.get("run_id");
  const shown = () => viewKey || live();
  const compareKey = () => Number(compare.value);
  const entry = (key) => model.get("runs").find((r) => r.key === key);
  const curveOf = (key) => key === live() ? model.get("applied") : entry(key)?.guidance || [];
  function put(img, blob) {
    const url = URL.createObjectURL(blob);
    img.src = url;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }
  function paint() {
    scheduled = 0;
    const key = shown(), frames = store.get(key);
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    if (!frames.length) return;
    const index = Math.min(pinned ? Number(scrub.value) - 1 : frames.length - 1, frames.length - 1);
    const frame = frames[index];
    if (!frame) return;
    scrub.max = frames.length;
    if (!pinned) scrub.value = frames.length;
    const finalImage = key === live() && !pinned && DONE.includes(model.get("status")) && model.get("image").byteLength;
    put(image, finalImage ? new Blob([model.get("image")], { type: "image/png" }) : frame.blob);
    const cmp = compareKey(), theirs = store.get(cmp);
    other.hidden = !cmp;
    if (cmp && theirs.length) {
      put(other, theirs[Math.min(index, theirs.length - 1)].blob);
      el.dataset.compareStep = String(Math.min(index, theirs.length - 1) + 1);
    }
    stepLabel.textContent = `step ${index + 1}`;
    sparkline(curve, cmp ? [curveOf(key), curveOf(cmp)] : [curveOf(key)], index, Math.max(frames.length, frame.total));
    strip.sync(frames, index);
    stats.paints += 1;
    if (frame.t && !frame.measured) {
      frame.measured = true;
      stats.latencies.push(Date.now() - frame.t * 1e3);
    }
    el.dataset.shownStep = String(index + 1);
    el.dataset.shownRun = String(key);
    el.dataset.paints = String(stats.paints);
  }
  function schedule() {
    if (!scheduled) scheduled = requestAnimationFrame(paint);
  }
  const sync = () => fillForm(ui, model);
  const options = () => fillRuns(ui, model.get("runs"), viewKey);
  const update = () => (showStatus(ui, model, shown()), schedule());
  function view(key) {
    viewKey = key;
    pinned = false;
    pick.value = String(key);
    need(shown());
    update();
  }
  generate.addEventListener("click", () => {
    const int = (input) => input.value === "" ? null : Number.parseInt(input.value, 10);
    view(0);
    model.send({
      type: "generate",
      prompt: prompt.value,
      negative_prompt: negative.value,
      steps: int(steps),
      seed: int(seed),
      guidance: Number.parseFloat(guidance.value)
    });
  });
  pause.addEventListener("click", () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  stop.addEventListener("click", () => model.send({ type: "stop" }));
  save.addEventListener("click", () => model.send({ type: "save", run: shown() }));
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => guidanceValue.textContent = Number(guidance.value).toFixed(1));
  guidance.addEventListener("change", () => model.send({ type: "guidance", value: Number.parseFloat(guidance.value) }));
  scrub.addEventListener("input", () => {
    const running = shown() === live() && ["running", "paused"].includes(model.get("status"));
    pinned = !(running && Number(scrub.value) === store.get(shown()).length);
    schedule();
  });
  const offs = [];
  const on = (event, handler) => {
    model.on(event, handler);
    offs.push(() => model.off(event, handler));
  };
  offs.push(watch((key) => (key === shown() || key === compareKey()) && schedule()));
  on("change:guidance", sync);
  on("change:run_id", () => (sync(), viewKey || (pinned = false)));
  on("change:runs", () => (options(), schedule()));
  on("change:view", () => view(model.get("view")));
  for (const name of STATUS_TRAITS) on(`change:${name}`, update);
  sync();
  options();
  view(model.get("view"));
  layout(el, ui, strip.el);
  return () => {
    offs.forEach((off) => off());
    if (scheduled) cancelAnimationFrame(scheduled);
    scheduled = -1;
    urls.forEach((url) => URL.revokeObjectURL(url));
    strip.clear();
    ownInit?.();
  };
}

// src/index.js
var index_default = { initialize, render };
export {
  index_default as default
};
