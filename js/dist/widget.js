// src/dom.js
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
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
var W = 300;
var H = 60;
var PAD = 3;
function axisTop(series) {
  return Math.max(10, Math.ceil(Math.max(0, ...series.flat()) / 5) * 5);
}
function align(pos, total, other) {
  return other === total || !total ? pos : Math.max(0, Math.round((pos + 1) / total * other) - 1);
}
var fmt = (g) => g == null ? "\u2013" : Number(g).toFixed(1);
function sparkline(curve2, series, current, extra = {}) {
  const plan = extra.plan || /* @__PURE__ */ new Map(), breaks = extra.breaks || [], cfgSwitch = extra.switch !== false;
  const top = axisTop([...series.map((s) => s.values), [...plan.values()]]);
  const span = (s) => Math.max(s.total || 0, s.values.length, 1);
  const x = (i, s) => span(s) > 1 ? i / (span(s) - 1) * (W - 2 * PAD) + PAD : W / 2;
  const y = (g) => H - PAD - Math.min(g, top) / top * (H - 2 * PAD);
  const key = `${top}|${series.map((s) => `${s.name}:${s.role}:${span(s)}:${s.values.length}:${s.values.at(-1)}`).join("|")}|${[...plan].join(";")}|${breaks.join(",")}|${cfgSwitch}`;
  const [main, other] = series;
  if (curve2.key !== key) {
    curve2.key = key;
    const lines = series.map((s, i) => ({ s, i })).reverse().map(({ s, i }) => svgNode("polyline", {
      points: s.values.map((g, k) => `${x(k, s).toFixed(1)},${y(g).toFixed(1)}`).join(" "),
      class: i ? "sdw-compare-line" : "sdw-main-line",
      "vector-effect": "non-scaling-stroke"
    }));
    curve2.marker = svgNode("line", { y1: 0, y2: H, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    const cfg = svgNode("line", { x1: 0, x2: W, y1: y(1), y2: y(1), class: "sdw-cfg-line", "vector-effect": "non-scaling-stroke" });
    const steps = [...plan.keys()].sort((a, b) => a - b);
    const planned = steps.length ? [svgNode("polyline", {
      points: steps.map((k) => `${x(k, main).toFixed(1)},${y(plan.get(k)).toFixed(1)}`).join(" "),
      class: "sdw-plan-line",
      "vector-effect": "non-scaling-stroke"
    })] : [];
    const ticks = main ? breaks.filter((b) => b >= 1 && b <= span(main)).map((b) => svgNode("line", {
      x1: x(b - 1, main),
      x2: x(b - 1, main),
      y1: 0,
      y2: H,
      class: "sdw-break",
      "vector-effect": "non-scaling-stroke"
    })) : [];
    curve2.svg.replaceChildren(...cfgSwitch ? [cfg] : [], ...ticks, ...lines, ...planned, curve2.marker);
    curve2.topValue = top;
    curve2.top.textContent = String(top);
    curve2.cfg.hidden = !cfgSwitch;
    curve2.legend.hidden = !other;
    if (other) {
      curve2.legend.replaceChildren(
        h("span", { class: "sdw-key sdw-key-main" }),
        `${main.name} (shown)`,
        h("span", { class: "sdw-key sdw-key-compare" }),
        `${other.name} (${other.role || "compared"})`
      );
    }
    const values2 = main?.values || [];
    curve2.svg.setAttribute("aria-label", values2.length ? `Guidance per step of ${main.name}: ${fmt(values2[0])} at step 1, ${fmt(values2.at(-1))} at step ${values2.length}` : "Guidance per step: no steps yet");
  }
  curve2.n = main ? span(main) : 0;
  const values = main?.values || [];
  const at = Math.max(0, Math.min(current, values.length - 1));
  curve2.marker.setAttribute("x1", x(at, main || { values }));
  curve2.marker.setAttribute("x2", x(at, main || { values }));
  curve2.marker.style.visibility = current >= 0 && values.length ? "visible" : "hidden";
  let text = "";
  if (current >= 0 && values.length) {
    text = `Step ${at + 1}: ${fmt(values[at])}`;
    if (!other) {
      if (cfgSwitch) text += ` (CFG ${values[at] > 1 ? "on" : "off"})`;
    } else {
      const j = align(at, span(main), span(other));
      const theirs = j < other.values.length ? `step ${j + 1}: ${fmt(other.values[j])}` : `ended at step ${other.values.length}`;
      text = `${main.name} ${text.toLowerCase()} \xB7 ${other.name} ${theirs}`;
    }
  }
  curve2.readout.textContent = text;
}
function stepAt(curve2, clientX) {
  const box = curve2.svg.getBoundingClientRect();
  if (!box.width || !curve2.n) return null;
  const fraction = (clientX - box.left) / box.width * W;
  return Math.max(0, Math.min(curve2.n - 1, Math.round((fraction - PAD) / (W - 2 * PAD) * (curve2.n - 1))));
}
function valueAt(curve2, clientY) {
  const box = curve2.svg.getBoundingClientRect();
  if (!box.height) return null;
  const yy = (clientY - box.top) / box.height * H;
  const g = (H - PAD - yy) / (H - 2 * PAD) * (curve2.topValue || 10);
  return Math.round(Math.max(0, Math.min(curve2.topValue || 10, g)) * 10) / 10;
}

// src/frames.js
function imageBlob(bytes) {
  const first = new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, 1)[0];
  return new Blob([bytes], { type: first === 137 ? "image/png" : "image/webp" });
}
var FrameStore = class {
  constructor() {
    this.byRun = /* @__PURE__ */ new Map();
    this.finals = /* @__PURE__ */ new Map();
  }
  get(key) {
    return this.byRun.get(key) || [];
  }
  has(key) {
    return this.byRun.has(key);
  }
  // Steps 0…n-1 all here: what can be shown in order (a reply may still be on its way for a gap).
  count(key) {
    const frames = this.get(key);
    let n = 0;
    while (n < frames.length && frames[n]) n++;
    return n;
  }
  // `received`: when the message arrived (ms since the epoch), for the latency statistics.
  add(key, metas, buffers, received = 0) {
    const frames = this.byRun.get(key) || [];
    metas.forEach((meta, i) => frames[meta.step] = { ...meta, received, blob: imageBlob(buffers[i]) });
    this.byRun.set(key, frames);
    return frames;
  }
  // The run's final image (PNG bytes): what the end of the scrubber shows.
  setFinal(key, bytes) {
    if (!this.finals.has(key)) this.finals.set(key, imageBlob(bytes));
  }
  final(key) {
    return this.finals.get(key) || null;
  }
  keys() {
    return /* @__PURE__ */ new Set([...this.byRun.keys(), ...this.finals.keys()]);
  }
  delete(key) {
    this.byRun.delete(key);
    this.finals.delete(key);
  }
};
function scaleRule(img, width, height) {
  if (!img.naturalWidth || !width) return;
  const scale = Math.min(width / img.naturalWidth, height / img.naturalHeight);
  img.classList.toggle("sdw-pixels", scale >= 2);
}
var THUMB = 38;
var Filmstrip = class {
  constructor(onPick) {
    this.el = h("div", {
      class: "sdw-filmstrip",
      role: "listbox",
      "aria-label": "Filmstrip",
      "aria-orientation": "horizontal",
      style: `--sdw-thumb: ${THUMB}px`
    });
    this.onPick = onPick;
    this.items = [];
    this.urls = [];
    this.steps = 0;
    this.final = null;
    this.current = -1;
    this.selected = this.tabbed = null;
    this.el.addEventListener("keydown", (event) => {
      const last = this.items.length - 1;
      const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
      let to = null;
      if (event.key in moves) to = Math.max(0, Math.min(last, Math.max(this.current, 0) + moves[event.key]));
      if (event.key === "Home") to = 0;
      if (event.key === "End") to = last;
      if (to === null || last < 0) return;
      event.preventDefault();
      this.onPick(to);
      this.mark(to);
      this.items[to].focus({ preventScroll: true });
    });
  }
  clear() {
    this.urls.forEach((url) => URL.revokeObjectURL(url));
    this.urls = [];
    this.items = [];
    this.steps = 0;
    this.final = null;
    this.current = -1;
    this.selected = this.tabbed = null;
    this.el.replaceChildren();
  }
  option(blob, label, caption) {
    const url = URL.createObjectURL(blob);
    this.urls.push(url);
    const img = h("img", { src: url, alt: "", draggable: "false" });
    img.addEventListener("load", () => scaleRule(img, THUMB, THUMB), { once: true });
    const item = h(
      "div",
      { role: "option", tabindex: "-1", "aria-selected": "false", "aria-label": label, title: label },
      img,
      h("span", { class: "sdw-frame-number", "aria-hidden": "true" }, caption)
    );
    item.addEventListener("click", (event) => {
      this.onPick(this.items.indexOf(item), event);
      item.focus({ preventScroll: true });
    });
    return item;
  }
  // Adds options for the steps not listed yet (in order) and the final image once there;
  // `current` is the index of the option shown (steps, then the final image).
  sync(frames, count, finalBlob, current, describe) {
    const before = this.items.length;
    for (let i = this.steps; i < count; i++) {
      const item = this.option(frames[i].blob, describe(i), String(i + 1));
      this.el.insertBefore(item, this.final);
      this.items.splice(i, 0, item);
      this.steps = i + 1;
    }
    if (finalBlob && !this.final) {
      this.final = this.option(finalBlob, "Final image", "final");
      this.final.classList.add("sdw-final");
      this.el.append(this.final);
      this.items.push(this.final);
    }
    this.mark(current, before !== this.items.length);
  }
  // Marks option `current` as the one shown (the tab stop); scrolls it into view when it changed.
  mark(current, moved = false) {
    const item = this.items[current] || null;
    if (this.selected !== item) {
      this.selected?.setAttribute("aria-selected", "false");
      item?.setAttribute("aria-selected", "true");
      this.selected = item;
      moved = true;
    }
    const tab = item || this.items[0];
    if (tab && this.tabbed !== tab) {
      if (this.tabbed) this.tabbed.tabIndex = -1;
      tab.tabIndex = 0;
      this.tabbed = tab;
    }
    this.current = current;
    if (item && moved) {
      if (!this.pending) requestAnimationFrame(() => this.reveal());
      this.pending = item;
    }
  }
  // Scrolls the strip, and only the strip, so that the marked option is in view.
  reveal() {
    const item = this.pending;
    this.pending = null;
    if (!item || !item.isConnected) return;
    const strip = this.el, left = item.offsetLeft, right = left + item.offsetWidth;
    if (left < strip.scrollLeft) strip.scrollLeft = Math.max(0, left - 8);
    else if (right > strip.scrollLeft + strip.clientWidth) strip.scrollLeft = right - strip.clientWidth + 8;
  }
};

// src/model.js
var DONE = ["finished", "stopped", "failed"];
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
    store.add(key, msg.frames, buffers, Date.now());
    if (msg.type === "history" && msg.final && buffers.length > msg.frames.length) store.setFinal(key, buffers.at(-1));
    if (msg.type === "history") requested.clear();
    if (msg.type === "frames") model.send({ type: "ack", run: key });
    watchers.forEach((watch) => watch(key));
  }
  function keepFinal() {
    const bytes = model.get("image"), key = model.get("run_id");
    if (key && bytes?.byteLength && DONE.includes(model.get("status"))) {
      store.setFinal(key, bytes);
      watchers.forEach((watch) => watch(key));
    }
  }
  function evict() {
    const runs = model.get("runs") || [];
    const listed = new Set(runs.map((r) => r.key));
    const live = model.get("run_id") || 0;
    const newest = Math.max(live, ...runs.map((r) => r.key));
    for (const key of store.keys()) {
      if (!listed.has(key) && key !== live && (key < 0 || key < newest)) {
        store.delete(key);
        requested.delete(key);
      }
    }
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
  model.on("change:image", keepFinal);
  model.on("change:status", keepFinal);
  model.on("change:runs", evict);
  states.add(state);
  keepFinal();
  const current = model.get("run_id");
  if (current) {
    requested.add(current);
    model.send({ type: "sync" });
  }
  return () => {
    model.off("msg:custom", receive);
    model.off("change:image", keepFinal);
    model.off("change:status", keepFinal);
    model.off("change:runs", evict);
    states.delete(state);
  };
}

// src/form.js
var ACTIVE = ["running", "paused"];
var FIELDS = { prompt: "prompt", negative: "negative_prompt", steps: "steps", seed: "seed", guidance: "guidance" };
function fillField(ui, model, name, { dirty, seedRandom }) {
  const input = ui[name];
  if (dirty.has(name)) return;
  const value = model.get(FIELDS[name]);
  if (name === "seed" && (seedRandom || value == null)) input.value = "";
  else input.value = value;
  if (name === "guidance") ui.guidanceValue.textContent = Number(input.value).toFixed(1);
}
function readForm(ui) {
  const steps = ui.steps.value.trim(), seed = ui.seed.value.trim();
  const problems = [];
  if (!/^\d+$/.test(steps) || Number(steps) < 1 || Number(steps) > 1e3)
    problems.push(["steps", "Steps: enter a whole number from 1 to 1000."]);
  if (seed && (!/^\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))))
    problems.push(["seed", `Seed: enter a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, or leave it empty for a random seed.`]);
  return {
    problems,
    message: {
      type: "generate",
      prompt: ui.prompt.value,
      negative_prompt: ui.negative.value,
      steps: Number(steps),
      seed: seed === "" ? null : Number(seed),
      guidance: Number.parseFloat(ui.guidance.value)
    }
  };
}
function runInfo(model, key) {
  const entry = (model.get("runs") || []).find((r) => r.key === key);
  if (key && key === model.get("run_id")) {
    return {
      key,
      name: entry?.name || `#${key}`,
      prompt: entry?.prompt ?? model.get("prompt"),
      negative_prompt: entry?.negative_prompt ?? model.get("negative_prompt"),
      seed: entry?.seed ?? model.get("seed"),
      steps: model.get("total") || entry?.steps,
      guidance_scale: entry?.guidance_scale,
      status: model.get("status"),
      done: model.get("step"),
      its: model.get("its"),
      rate: model.get("rate"),
      guidance: model.get("applied"),
      error: model.get("error"),
      prompts: model.get("edits") || [],
      holds: entry?.holds || [],
      saved: entry?.saved || "",
      live: true,
      parent: entry?.parent ?? null,
      branch_step: entry?.branch_step ?? null
    };
  }
  if (!entry) return null;
  return {
    guidance_scale: entry.guidance?.[0],
    done: entry.guidance?.length || 0,
    its: 0,
    ...entry,
    live: false,
    name: entry.name || (key > 0 ? `#${key}` : `gallery ${-key}`)
  };
}
var progress = (info) => `${info.done} / ${info.steps}`;
var quoted = (prompt) => `\u201C${Array.isArray(prompt) ? prompt.join(" | ") : prompt}\u201D`;
var edits = (info) => (info.prompts || []).map((c) => ` \u2192 ${quoted(c.prompt)} from step ${c.step + 1}`).join("");
function runLabel(info) {
  const state = ACTIVE.includes(info.status) ? info.status : `${info.status} ${progress(info)}`;
  const last = info.prompts?.at(-1);
  const prompt = `${info.prompt || "(no prompt)"}${last ? ` \u2192 ${Array.isArray(last.prompt) ? last.prompt.join(" | ") : last.prompt}` : ""}`;
  return `${info.name} \xB7 ${state} \xB7 seed ${info.seed ?? "random"} \xB7 ${prompt}`;
}
function fillRuns(ui, model, viewKey) {
  const live = model.get("run_id");
  const infos = [...model.get("runs") || []].reverse().map((r) => runInfo(model, r.key));
  const fill = (select, first) => {
    const keep = select.value;
    const want = [[0, first], ...infos.map((info) => [info.key, runLabel(info)])];
    want.forEach(([value, text], i) => {
      let option = select.options[i];
      if (!option) select.append(option = h("option"));
      if (option.value !== String(value)) option.value = String(value);
      if (option.textContent !== text) option.textContent = text;
      option.title = text;
    });
    while (select.options.length > want.length) select.options[select.options.length - 1].remove();
    select.value = want.some(([value]) => String(value) === keep) ? keep : "0";
  };
  fill(ui.pick, live ? `Current run (#${live})` : "Current run");
  fill(ui.compare, "None");
  ui.pick.value = String(viewKey);
  if (ui.pick.value !== String(viewKey)) ui.pick.value = "0";
}
var fmt2 = (n) => Number(n).toFixed(1);
function speed({ its, rate }) {
  if (!(its > 0)) return "";
  if (!(rate > 0) || rate > 0.85 * its) return ` \xB7 ${fmt2(its)} steps/s`;
  return ` \xB7 ${fmt2(rate)} steps/s (computing alone: ${fmt2(its)} steps/s)`;
}
function stateText(info, model) {
  if (!info) {
    if (!model.get("has_model")) return "No model attached: galleries added from Python show here.";
    return "Ready: no run yet.";
  }
  const where = {
    running: `running \xB7 step ${progress(info)}`,
    paused: `paused at step ${progress(info)}${(info.holds || []).includes(info.done) ? ` \xB7 held at breakpoint ${info.done}: Resume or Next step` : ""}`,
    finished: `finished \xB7 ${info.done} steps`,
    stopped: `stopped at step ${progress(info)}`,
    failed: `failed at step ${progress(info)}${info.error ? `: ${info.error}` : ""}`,
    pending: "starting\u2026"
  }[info.status] || `${info.status} \xB7 step ${progress(info)}`;
  return `${info.name}: ${where}${speed(info)}`;
}
function detailsText(info) {
  if (!info) return "";
  const g = info.guidance || [];
  const first = g.length ? g[0] : info.guidance_scale, last = g.length ? g[g.length - 1] : first;
  const guidance = first == null ? "" : first === last ? ` \xB7 guidance ${Number(first).toFixed(1)}` : ` \xB7 guidance ${Number(first).toFixed(1)} \u2192 ${Number(last).toFixed(1)}`;
  const negative = info.negative_prompt ? ` \xB7 not: \u201C${info.negative_prompt}\u201D` : "";
  const branch = info.parent ? ` \xB7 branch of #${info.parent} at step ${info.branch_step}` : "";
  return `${quoted(info.prompt)}${edits(info)}${negative} \xB7 ${info.steps} steps \xB7 seed ${info.seed ?? "random"}${guidance}${branch}`;
}
function enable(button, on, why = "") {
  if (button.getAttribute("aria-disabled") !== String(!on)) button.setAttribute("aria-disabled", String(!on));
  const title = (on ? button.dataset.title : why) || "";
  if (button.title !== title) {
    if (title) button.title = title;
    else button.removeAttribute("title");
  }
}

// src/panel.js
function figure(alt, emptyText) {
  const img = h("img", { alt, class: "sdw-image", hidden: true, draggable: "false" });
  const empty = h("div", { class: "sdw-empty" }, emptyText);
  const caption = h("figcaption", { class: "sdw-caption" });
  const el = h("figure", { class: "sdw-figure" }, h("div", { class: "sdw-frame" }, img, empty), caption);
  return { el, img, empty, caption };
}
function curve() {
  const svg = svgNode("svg", {
    viewBox: "0 0 300 60",
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": "Guidance per step",
    class: "sdw-plot"
  });
  const parts = {
    svg,
    top: h("span", { class: "sdw-axis sdw-axis-top", "aria-hidden": "true" }, "10"),
    cfg: h("span", { class: "sdw-cfg-label", "aria-hidden": "true" }, "1.0 \xB7 CFG off below"),
    readout: h("span", { class: "sdw-readout" }),
    legend: h("div", { class: "sdw-legend", hidden: true })
  };
  parts.el = h(
    "figure",
    { class: "sdw-curve" },
    h("figcaption", { class: "sdw-curve-head" }, h("span", {}, "Guidance per step"), parts.readout),
    h(
      "div",
      { class: "sdw-curve-body" },
      h("div", { class: "sdw-axis-col", "aria-hidden": "true" }, parts.top, h("span", { class: "sdw-axis" }, "0")),
      h("div", { class: "sdw-plot-box" }, svg)
    ),
    // Under the plot, where no curve crosses it: what the dashed 1.0 line means.
    h("div", { class: "sdw-curve-foot" }, parts.cfg),
    parts.legend
  );
  return parts;
}
var PACES = [[0, "Full speed"], [10, "10 steps/s"], [4, "4 steps/s"], [1, "1 step/s"]];
function controls() {
  const main = figure("Live preview", "No image yet: type a prompt and press Generate. Each step's preview shows here.");
  const other = figure("Compared preview", "");
  return {
    prompt: h("textarea", { "aria-label": "Prompt", rows: 2 }),
    negative: h("textarea", { "aria-label": "Negative prompt", rows: 1 }),
    steps: h("input", { type: "number", "aria-label": "Steps", min: 1, max: 1e3, step: 1, inputmode: "numeric" }),
    seed: h("input", {
      type: "number",
      "aria-label": "Seed",
      min: 0,
      step: 1,
      inputmode: "numeric",
      placeholder: "random",
      title: "Empty: a new random seed for each run (the run's seed shows with the run)"
    }),
    guidance: h("input", { type: "range", "aria-label": "Guidance", min: 0, max: 20, step: 0.1 }),
    guidanceValue: h("span", { class: "sdw-guidance-value", "aria-hidden": "true" }),
    generate: h("button", { type: "button", class: "sdw-primary" }, "Generate"),
    pause: h("button", { type: "button", "aria-label": "Pause" }, "Pause"),
    stop: h("button", { type: "button" }, "Stop"),
    message: h("div", { role: "alert", class: "sdw-message" }),
    // Steering by hand: pace, single steps, breakpoints, a prompt edited mid-run.
    pace: h(
      "select",
      { "aria-label": "Pace", title: "Steps per second for this run and the next ones" },
      ...PACES.map(([value, label]) => h("option", { value: String(value) }, label))
    ),
    next: h("button", {
      type: "button",
      "data-title": "Run one more step and hold again (key: n)",
      "aria-keyshortcuts": "n"
    }, "Next step"),
    // Buttons that are never greyed out carry their help as a plain title (enable() sets the
    // others' from data-title).
    applyPrompt: h("button", {
      type: "button",
      hidden: true,
      title: "Use the edited prompt for the running run from its next step"
    }, "Apply prompt"),
    breakpoints: h(
      "button",
      {
        type: "button",
        "aria-pressed": "false",
        title: "Click the guidance curve or a filmstrip frame to set or clear a hold at that step of the next run"
      },
      "Breakpoints"
    ),
    breakList: h("span", { class: "sdw-breaklist" }),
    clearHolds: h(
      "button",
      { type: "button", hidden: true, title: "Remove every hold set for the next run" },
      "Clear holds"
    ),
    clearPlan: h("button", {
      type: "button",
      hidden: true,
      title: "Drop the guidance curve drawn for the next run: it runs at the form's Guidance"
    }, "Clear curve"),
    branch: h("button", {
      type: "button",
      "data-title": "Continue the shown run from the shown step with the form's guidance (and prompt)"
    }, "Branch from here"),
    decode: h("button", { type: "button", "data-title": "Decode the shown step at full size with the VAE" }, "Decode step"),
    pick: h("select", { "aria-label": "Run" }),
    compare: h("select", { "aria-label": "Compare with" }),
    // The one status region: the shown run's state, the current run's when another is shown,
    // and the outcome of Save gallery. Counters change every step and are not announced.
    status: h("div", { role: "status", class: "sdw-status" }),
    stateLine: h("div", { class: "sdw-state" }),
    liveLine: h("div", { class: "sdw-live", hidden: true }),
    saved: h("div", { class: "sdw-saved", hidden: true }),
    details: h("div", { class: "sdw-details" }),
    reuse: h(
      "button",
      { type: "button", "data-title": "Copy this run's prompt, steps, seed and guidance into the form" },
      "Use these settings"
    ),
    save: h("button", { type: "button" }, "Save gallery"),
    enlarge: h("button", { type: "button", "aria-pressed": "false" }, "Enlarge preview"),
    main,
    other,
    image: main.img,
    scrub: h("input", { type: "range", "aria-label": "Step", min: 1, max: 1, value: 1 }),
    stepLabel: h("span", { class: "sdw-step-label", "aria-hidden": "true" }),
    curve: curve()
  };
}
function keepShortcutsOut(...nodes) {
  nodes.forEach((node) => node.setAttribute("data-lm-suppress-shortcuts", "true"));
}
function layout(el, ui, strip) {
  el.classList.add("sdw");
  keepShortcutsOut(
    ui.steps,
    ui.seed,
    ui.guidance,
    ui.generate,
    ui.pause,
    ui.stop,
    ui.pick,
    ui.compare,
    ui.reuse,
    ui.save,
    ui.enlarge,
    ui.scrub,
    strip,
    ui.pace,
    ui.next,
    ui.applyPrompt,
    ui.breakpoints,
    ui.branch,
    ui.decode,
    ui.clearPlan,
    ui.clearHolds,
    ui.breakList
  );
  const field = (label, input, extra = {}) => h("label", { class: "sdw-field", ...extra }, h("span", {}, label), input);
  ui.status.append(ui.stateLine, ui.liveLine, ui.saved);
  el.append(
    h(
      "div",
      { class: "sdw-form" },
      field("Prompt", ui.prompt),
      field("Negative prompt", ui.negative),
      ui.applyPrompt,
      h("div", { class: "sdw-row sdw-pair" }, field("Steps", ui.steps), field("Seed", ui.seed)),
      h(
        "div",
        { class: "sdw-field" },
        h("span", { "aria-hidden": "true" }, "Guidance"),
        h("div", { class: "sdw-row" }, ui.guidance, ui.guidanceValue)
      ),
      h("div", { class: "sdw-row sdw-buttons" }, ui.generate, ui.pause, ui.stop),
      h("div", { class: "sdw-row sdw-buttons" }, ui.next, h(
        "label",
        { class: "sdw-row sdw-pace" },
        h("span", {}, "Pace"),
        ui.pace
      )),
      ui.message
    ),
    h(
      "div",
      { class: "sdw-view" },
      h("div", { class: "sdw-row sdw-pair" }, field("Run", ui.pick), field("Compare with", ui.compare)),
      ui.status,
      ui.details,
      h("div", { class: "sdw-row sdw-buttons" }, ui.reuse, ui.save, ui.enlarge),
      h("div", { class: "sdw-previews" }, ui.main.el, ui.other.el),
      h("div", { class: "sdw-row sdw-scrubber" }, ui.scrub, ui.stepLabel),
      h("div", { class: "sdw-row sdw-buttons" }, ui.decode, ui.branch, ui.breakpoints, ui.clearPlan),
      h("div", { class: "sdw-row sdw-buttons sdw-holds" }, ui.breakList, ui.clearHolds),
      ui.curve.el,
      strip
    )
  );
}

// src/sweep.js
var fmt3 = (g) => Number(g).toFixed(1);
var plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
function recordLines(r) {
  const curve2 = r.guidance.length ? `guidance ${fmt3(r.guidance[0])} \u2192 ${fmt3(r.guidance.at(-1))}` : "no steps";
  const where = r.device == null ? "" : ` on ${r.device}` + (r.processes > 1 && r.rank != null ? ` (process ${r.rank + 1} of ${r.processes})` : "");
  const took = r.seconds == null ? "" : ` \xB7 rendered in ${r.seconds.toFixed(2)} s${where}`;
  const lines = [
    `Item ${r.item} \xB7 seed ${r.seed} \xB7 ${r.status} \xB7 ${plural(r.steps, "step")} \xB7 ${r.size[0]}\xD7${r.size[1]}`,
    `Prompt: ${r.prompt}` + (r.negative_prompt ? ` \xB7 negative: ${r.negative_prompt}` : ""),
    `${plural(r.guidance.length, "step")} recorded, ${curve2}${took}`,
    ...r.prompts.map((c) => `Prompt from step ${c.step}: ${c.prompt}`)
  ];
  if (r.error) lines.push(`Error: ${r.error}`);
  return lines;
}
function curveLine(values) {
  const W2 = 120, H2 = 28, top = Math.max(10, ...values);
  const x = (i) => values.length > 1 ? i / (values.length - 1) * W2 : W2 / 2;
  const points = values.map((g, i) => `${x(i).toFixed(1)},${(H2 - g / top * H2).toFixed(1)}`).join(" ");
  const label = values.length ? `Guidance per step: ${values.map(fmt3).join(", ")}` : "Guidance per step: none";
  const svg = svgNode("svg", {
    viewBox: `0 0 ${W2} ${H2}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": label.length > 300 ? `${label.slice(0, 297)}\u2026` : label,
    class: "sdw-sweep-curve"
  });
  svg.append(svgNode("polyline", { points, class: "sdw-main-line", "vector-effect": "non-scaling-stroke" }));
  return svg;
}
function sweepPanel(model, onReplay) {
  const img = h("img", { class: "sdw-sweep-image", alt: "", draggable: "false" });
  const cells = h("div", { class: "sdw-sweep-cells" });
  const grid = h("div", { class: "sdw-sweep-grid" }, img, cells);
  const title = h("div", { class: "sdw-sweep-title" });
  const record = h("div", { class: "sdw-sweep-record" });
  const el = h("section", { class: "sdw-sweep", hidden: true, "aria-label": "Sweep" }, title, grid, record);
  let asked = 0, built = 0, url = null, shownRecord = null;
  function cell(c, [width, height]) {
    const [x, y, w, hh] = c.box;
    const button = h("button", {
      type: "button",
      class: "sdw-sweep-cell",
      "data-item": String(c.item),
      "aria-pressed": "false",
      "aria-label": `Replay item ${c.item}: ${c.caption}`,
      title: `${c.caption} \xB7 click to replay`,
      "data-lm-suppress-shortcuts": "true"
    });
    Object.assign(button.style, {
      left: `${x / width * 100}%`,
      top: `${y / height * 100}%`,
      width: `${w / width * 100}%`,
      height: `${hh / height * 100}%`
    });
    button.append(h("span", { class: "sdw-sweep-caption", "aria-hidden": "true" }, c.caption.replace(/\s+/g, " ")));
    button.addEventListener("click", () => {
      onReplay();
      model.send({ type: "sweep_item", item: c.item });
    });
    return button;
  }
  function draw() {
    const s = model.get("sweep") || {};
    el.hidden = !s.key;
    if (!s.key) return;
    if (asked !== s.key) {
      asked = s.key;
      model.send({ type: "sweep_grid" });
    }
    if (built !== s.key) {
      built = s.key;
      const [width, height] = s.size;
      grid.style.width = `${width}px`;
      grid.style.aspectRatio = `${width} / ${height}`;
      img.alt = `Sweep grid of ${plural(s.cells.length, "image")}, captioned with seed and prompt`;
      cells.replaceChildren(...s.cells.map((c) => cell(c, s.size)));
    }
    title.replaceChildren(
      h("strong", {}, `Sweep ${s.name}`),
      ` \xB7 ${plural(s.cells.length, "image")} \xB7 click one to see its record and replay it`
    );
    for (const button of cells.children) button.setAttribute("aria-pressed", String(button.dataset.item === String(s.selected)));
    if (s.record !== shownRecord) {
      shownRecord = s.record;
      record.replaceChildren(...s.record ? [curveLine(s.record.guidance), h("div", {}, ...recordLines(s.record).map((line) => h("div", {}, line)))] : []);
    }
  }
  function receive(msg, buffers) {
    if (msg?.type !== "sweep_grid" || msg.key !== model.get("sweep")?.key || !buffers?.length) return;
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([buffers[0]], { type: "image/png" }));
    img.src = url;
  }
  model.on("change:sweep", draw);
  model.on("msg:custom", receive);
  draw();
  return {
    el,
    close() {
      model.off("change:sweep", draw);
      model.off("msg:custom", receive);
      if (url) URL.revokeObjectURL(url);
    }
  };
}

// src/view.js
var STATUS_TRAITS = [
  "status",
  "step",
  "total",
  "its",
  "rate",
  "error",
  "message",
  "applied",
  "edits",
  "run_id",
  "saved",
  "saving",
  "has_model",
  "runs",
  "breakpoints",
  "pace",
  "guidance_kind",
  "knobs"
];
var ANSWERS = ["status", "step", "run_id", "message", "saving", "saved"];
var TYPED = ["TEXTAREA", "INPUT", "SELECT"];
var BRANCHABLE = ["finished", "stopped", "paused"];
function keepKeys(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (["Escape", "Tab"].includes(event.key) || event.key === "Enter" && event.shiftKey) return;
  event.stopPropagation();
}
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
    scrub,
    stepLabel,
    pick,
    compare,
    save,
    reuse,
    enlarge,
    main,
    other,
    curve: curve2,
    pace,
    next,
    applyPrompt,
    breakpoints,
    breakList,
    branch,
    decode,
    clearPlan,
    clearHolds
  } = ui;
  const stats = window.sdwidgetStats ?? (window.sdwidgetStats = { latencies: [], arrivals: [], waits: [], paintMs: [], paints: 0 });
  const strip = new Filmstrip((i, event) => event && breakMode && !running() && i < strip.steps ? toggleBreak(i + 1) : pickStep(i));
  let breakMode = false;
  let pendingBreaks = [], runBreaks = { key: 0, steps: [] };
  const plan = /* @__PURE__ */ new Map();
  const nextPlan = /* @__PURE__ */ new Map();
  let drag = null;
  let press = null;
  let dragged = false;
  let decoded = null;
  let where = null;
  let viewKey = 0, stripKey = null, pinned = false, scheduled = 0;
  let hover = null;
  let localMessage = "";
  let stale = true;
  const form = { dirty: /* @__PURE__ */ new Set(), seedRandom: false };
  let sentGuidance = [];
  const urls = /* @__PURE__ */ new Map();
  const blobs = /* @__PURE__ */ new Map();
  const text = (node, value) => node.textContent !== value && (node.textContent = value);
  const live = () => model.get("run_id");
  const shown = () => viewKey || live();
  const compareKey = () => Number(compare.value);
  const running = () => ACTIVE.includes(model.get("status"));
  const formSteps = () => Math.max(1, Math.min(1e3, Number.parseInt(steps.value, 10) || model.get("steps") || 1));
  const nextSchedule = () => {
    const base = Number.parseFloat(guidance.value) || 0;
    return Array.from({ length: formSteps() }, (_, k) => nextPlan.get(k) ?? base);
  };
  const showsNext = () => !running() && (breakMode || nextPlan.size > 0 || Boolean(drag?.next));
  function chartNext() {
    const total = formSteps();
    sparkline(
      curve2,
      [{ values: nextSchedule(), total, name: "Next run" }],
      hover ?? -1,
      {
        plan: new Map([...nextPlan].filter(([k]) => k < total)),
        breaks: model.get("breakpoints") || [],
        switch: model.get("guidance_kind") === "cfg"
      }
    );
  }
  function chart(series, current, key) {
    if (showsNext()) return chartNext();
    const own = key === live();
    const done = series[0]?.values.length || 0;
    const planned = own ? new Map([...plan].filter(([k]) => k >= done - 1)) : void 0;
    const last = planned?.size ? Math.max(...planned.keys()) : -1;
    for (let k = last + 1; last >= 0 && k < (series[0]?.total || 0); k++) planned.set(k, planned.get(last));
    sparkline(curve2, series, current, {
      plan: planned,
      breaks: own && runBreaks.key === key ? runBreaks.steps : [],
      switch: model.get("guidance_kind") === "cfg"
    });
  }
  function toggleBreak(step) {
    const set = new Set(model.get("breakpoints") || []);
    if (set.has(step)) set.delete(step);
    else set.add(step);
    model.send({ type: "breakpoints", steps: [...set].sort((a, b) => a - b) });
  }
  function put(img, blob) {
    if (blobs.get(img) === blob) return;
    blobs.set(img, blob);
    const url = URL.createObjectURL(blob);
    img.src = url;
    img.hidden = false;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }
  function emptyText(key, info) {
    if (!key) return model.get("has_model") ? "No image yet: type a prompt and press Generate. Each step's preview shows here." : "No model attached: galleries added from Python show here.";
    if (info?.status === "failed") return `${info.name} failed before its first step.`;
    return key === live() ? `${info?.name || "The run"}: waiting for its first step\u2026` : `Loading ${info?.name || "the run"}\u2026`;
  }
  function blank(fig, text2) {
    fig.empty.textContent = text2;
    fig.empty.hidden = false;
    if (fig.img.hidden) return;
    fig.img.hidden = true;
    fig.img.removeAttribute("src");
    blobs.delete(fig.img);
    if (urls.has(fig.img)) URL.revokeObjectURL(urls.get(fig.img));
    urls.delete(fig.img);
  }
  const box = { width: 0, height: 0 };
  const rule = () => [main.img, other.img].forEach((img) => scaleRule(img, box.width, box.height));
  for (const fig of [main, other]) {
    fig.img.addEventListener("load", () => {
      if (!fig.empty.hidden) fig.empty.hidden = true;
      scaleRule(fig.img, box.width, box.height);
    });
  }
  const g = (frame) => frame ? `guidance ${Number(frame.guidance).toFixed(1)}` : "";
  const describe = (frames) => (i) => `Step ${i + 1} of ${frames[i].total}, guidance ${Number(frames[i].guidance).toFixed(1)}`;
  function at(key, pos, info, final) {
    const frames = store.get(key), n = store.count(key), fin = store.final(key);
    const name = info?.name || `#${key}`;
    if (final && fin) return { blob: fin, caption: [name, "final image", g(frames[n - 1])].filter(Boolean).join(" \xB7 ") };
    if (!n) return null;
    const i = Math.min(pos, n - 1), frame = frames[i];
    const note = final ? " (last step)" : i >= pos ? "" : ["stopped", "failed"].includes(info?.status) ? ` (${info.status} here)` : " (last step)";
    return { blob: frame.blob, caption: `${name} \xB7 step ${i + 1} / ${frame.total}${note} \xB7 ${g(frame)}`, index: i };
  }
  function paint() {
    const started = performance.now();
    draw();
    stats.paintMs?.push(performance.now() - started);
  }
  function draw() {
    scheduled = 0;
    if (stale) showState();
    const key = shown(), frames = store.get(key), n = store.count(key), fin = store.final(key);
    const info = runInfo(model, key);
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    const positions = n + (fin ? 1 : 0);
    const cmp = compareKey(), cmpInfo = cmp ? runInfo(model, cmp) : null;
    other.el.hidden = !cmp;
    const columns = cmp ? "2" : "1";
    if (el.style.getPropertyValue("--sdw-n") !== columns) el.style.setProperty("--sdw-n", columns);
    if (!positions) {
      blank(main, emptyText(key, info));
      text(main.caption, "");
      scrub.max = 1;
      scrub.value = 1;
      scrub.disabled = true;
      text(stepLabel, "");
      chart([{ values: info?.guidance || [], total: info?.steps || 0, name: info?.name || "" }], -1, key);
      where = { key, pos: -1, n: 0, atFinal: false };
      el.dataset.shownRun = String(key);
      el.dataset.shownStep = "";
      return;
    }
    scrub.disabled = false;
    scrub.max = positions;
    const pos = pinned ? Math.min(Number(scrub.value) - 1, positions - 1) : positions - 1;
    scrub.value = pos + 1;
    const atFinal = Boolean(fin) && pos === n;
    const mine = at(key, pos, info, atFinal);
    where = { key, pos, n, atFinal };
    const exact = decoded && decoded.run === key && decoded.step === pos && !atFinal;
    put(main.img, exact ? decoded.blob : mine.blob);
    text(main.caption, exact ? `${info?.name || `#${key}`} \xB7 step ${pos + 1}, exact (VAE) \xB7 ${g(frames[pos])}` : mine.caption);
    el.dataset.decoded = exact ? String(pos + 1) : "";
    const total = frames[0]?.total || info?.steps || 1;
    text(stepLabel, atFinal ? "final image" : `step ${pos + 1} / ${total}`);
    scrub.setAttribute("aria-valuetext", atFinal ? "final image" : `step ${pos + 1} of ${total}`);
    let theirs = null;
    if (cmp) {
      const cn = store.count(cmp), ctotal = store.get(cmp)[0]?.total || 0;
      theirs = at(cmp, atFinal ? cn : align(pos, total, ctotal), cmpInfo, atFinal);
      if (theirs) {
        put(other.img, theirs.blob);
        text(other.caption, theirs.caption);
        el.dataset.compareStep = theirs.index == null ? "final" : String(theirs.index + 1);
      } else {
        blank(other, `Loading ${cmpInfo?.name || "the run"}\u2026`);
        text(other.caption, "");
      }
    }
    const index = atFinal ? n - 1 : pos;
    const series = [{
      values: info?.guidance?.length ? info.guidance : frames.slice(0, n).map((f) => f.guidance),
      total,
      name: info?.name || `#${key}`
    }];
    if (cmp) series.push({ values: cmpInfo?.guidance || [], total: cmpInfo?.steps || 0, name: cmpInfo?.name || `#${cmp}` });
    else if (info?.parent) {
      const parent = runInfo(model, info.parent);
      if (parent) series.push({ values: parent.guidance || [], total: parent.steps || 0, name: parent.name, role: "parent" });
    }
    chart(series, hover ?? index, key);
    strip.sync(frames, n, fin, pos, describe(frames));
    stats.paints += 1;
    const painted = atFinal ? null : frames[pos];
    if (painted?.t && !painted.measured) {
      painted.measured = true;
      const now = Date.now();
      stats.latencies.push(now - painted.t * 1e3);
      stats.arrivals?.push(painted.received - painted.t * 1e3);
      stats.waits?.push(now - painted.received);
    }
    el.dataset.shownStep = atFinal ? "final" : String(pos + 1);
    el.dataset.shownRun = String(key);
    el.dataset.paints = String(stats.paints);
  }
  function schedule() {
    if (!scheduled) scheduled = requestAnimationFrame(paint);
  }
  function pickStep(i) {
    const running2 = shown() === live() && ACTIVE.includes(model.get("status"));
    pinned = !(running2 && i === store.count(shown()) - 1);
    if (decoded && decoded.step !== i) decoded = null;
    scrub.value = i + 1;
    schedule();
  }
  function showMessage() {
    text(ui.message, localMessage || model.get("message"));
  }
  function update() {
    stale = true;
    schedule();
  }
  function showState() {
    stale = false;
    const key = shown(), info = runInfo(model, key), state = model.get("status");
    const running2 = ACTIVE.includes(state);
    text(ui.stateLine, stateText(info, model));
    const liveInfo = key !== live() && running2 ? runInfo(model, live()) : null;
    ui.liveLine.hidden = !liveInfo;
    text(ui.liveLine, liveInfo ? `Current run ${stateText(liveInfo, model)}` : "");
    text(ui.details, detailsText(info));
    const label = state === "paused" ? "Resume" : "Pause";
    text(pause, label);
    pause.setAttribute("aria-label", label);
    enable(pause, running2, "No run is going");
    enable(stop, running2, "No run is going");
    enable(
      generate,
      model.get("has_model") && !running2,
      running2 ? "A run is going: Stop it or wait for it to finish, then Generate" : "No model attached"
    );
    enable(save, Boolean(info) && !model.get("saving"), model.get("saving") ? "Saving a gallery\u2026" : "No run to save");
    enable(reuse, Boolean(info), "No run shown");
    enable(next, state === "paused", "Only while the current run is paused");
    applyPrompt.hidden = !(running2 && (form.dirty.has("prompt") || form.dirty.has("negative")));
    negative.placeholder = model.get("guidance_kind") === "distilled" ? "Not used by distilled guidance" : "";
    guidance.title = model.get("knobs")?.[0]?.meaning ?? "";
    const canBranch = key > 0 && Boolean(info) && BRANCHABLE.includes(info.status) && store.count(key) > 0;
    enable(branch, canBranch, key < 0 ? "A loaded gallery cannot be continued" : "Only a finished, stopped or paused run can be branched");
    enable(decode, key > 0 && store.count(key) > 0, key < 0 ? "A loaded gallery's latents were not kept" : "No step shown");
    const pacing = String(model.get("pace") || 0);
    if (![...pace.options].some((o) => o.value === pacing)) pace.append(h("option", { value: pacing }, `${pacing} steps/s`));
    if (pace.value !== pacing) pace.value = pacing;
    clearPlan.hidden = !(nextPlan.size > 0 && !running2);
    el.classList.toggle("sdw-planmode", !running2 && !breakMode && nextPlan.size > 0);
    const holds = model.get("breakpoints") || [];
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    el.classList.toggle("sdw-breakmode", breakMode && !running2);
    showHolds(holds, running2);
    showMessage();
    text(ui.saved, model.get("saving") ? "Saving gallery\u2026" : info?.saved ? `Saved gallery of ${info.name} to ${info.saved}` : "");
    ui.saved.hidden = !ui.saved.textContent;
  }
  let holdsShown = null;
  function showHolds(holds, running2) {
    const hint = holds.length ? "" : !breakMode ? "" : running2 ? "Holds are set for the next run, once this one ends" : "Click the curve or a frame to hold there";
    const key = `${holds.join(",")}|${hint}`;
    clearHolds.hidden = holds.length < 2;
    if (holdsShown === key) return;
    holdsShown = key;
    breakList.replaceChildren(...holds.length ? ["Next run holds at step", ...holds.flatMap((step) => [
      " ",
      h("button", {
        type: "button",
        class: "sdw-hold",
        "aria-label": `Remove hold at step ${step}`,
        title: `Remove the hold at step ${step}`,
        "data-lm-suppress-shortcuts": "true",
        onclick: () => toggleBreak(step)
      }, `${step} \xD7`)
    ])] : [hint]);
  }
  let busyTimer = 0;
  function busy(button) {
    button.setAttribute("aria-busy", "true");
    clearTimeout(busyTimer);
    busyTimer = setTimeout(settle, 5e3);
  }
  function settle() {
    el.querySelectorAll("button[aria-busy]").forEach((b) => b.removeAttribute("aria-busy"));
  }
  const fill = (name) => fillField(ui, model, name, form);
  const options = () => fillRuns(ui, model, viewKey);
  function view(key) {
    const listed = (model.get("runs") || []).some((r) => r.key === key);
    viewKey = listed ? key : 0;
    pinned = false;
    hover = null;
    decoded = null;
    pick.value = String(viewKey);
    need(shown());
    update();
  }
  const disabled = (button) => button.getAttribute("aria-disabled") === "true";
  generate.addEventListener("click", () => {
    if (disabled(generate)) {
      localMessage = generate.title;
      return showMessage();
    }
    const { problems, message } = readForm(ui);
    if (nextPlan.size && !problems.length) {
      message.schedule = nextSchedule();
      message.guidance = message.schedule[0];
    }
    for (const name of ["steps", "seed"]) ui[name].setAttribute("aria-invalid", String(problems.some(([p]) => p === name)));
    if (problems.length) {
      localMessage = problems.map(([, text2]) => text2).join(" ");
      ui[problems[0][0]].focus();
      return showMessage();
    }
    localMessage = "";
    form.seedRandom = message.seed === null;
    form.dirty.clear();
    view(0);
    pendingBreaks = (model.get("breakpoints") || []).filter((b) => b <= message.steps);
    breakMode = false;
    nextPlan.clear();
    busy(generate);
    model.send(message);
  });
  const act = (button, send, waits = true) => button.addEventListener("click", () => {
    if (disabled(button)) return;
    localMessage = "";
    if (waits) busy(button);
    send();
    showMessage();
  });
  act(pause, () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  act(stop, () => model.send({ type: "stop" }));
  act(next, () => model.send({ type: "step" }));
  act(clearHolds, () => model.send({ type: "breakpoints", steps: [] }), false);
  act(applyPrompt, () => {
    model.send({ type: "prompt", prompt: prompt.value, negative_prompt: negative.value });
    form.dirty.delete("prompt");
    form.dirty.delete("negative");
    update();
  });
  act(branch, () => {
    const key = shown(), info = runInfo(model, key);
    if (!where || where.key !== key) return;
    const message = {
      type: "branch",
      run: key,
      step: where.atFinal ? where.n : where.pos + 1,
      guidance: Number.parseFloat(guidance.value)
    };
    if (prompt.value !== (info.prompt ?? "")) message.prompt = prompt.value;
    if (negative.value !== (info.negative_prompt ?? "")) message.negative_prompt = negative.value;
    pendingBreaks = [];
    view(0);
    model.send(message);
  });
  act(decode, () => {
    if (!where || where.key !== shown()) return;
    const step = where.atFinal ? where.n - 1 : where.pos;
    if (where.atFinal) pickStep(step);
    model.send({ type: "decode", run: where.key, step });
  });
  act(clearPlan, () => {
    nextPlan.clear();
    update();
  }, false);
  breakpoints.addEventListener("click", () => {
    breakMode = !breakMode;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    hover = null;
    update();
  });
  pace.addEventListener("change", () => {
    const value = Number(pace.value);
    model.send({ type: "pace", value: value > 0 ? value : null });
  });
  const custom = (msg, buffers) => {
    if (msg?.type !== "decoded" || !buffers?.length) return;
    decoded = { run: msg.run, step: msg.step, blob: new Blob([buffers[0]], { type: "image/png" }) };
    settle();
    schedule();
  };
  act(save, () => model.send({ type: "save", run: shown() }));
  act(reuse, () => {
    const info = runInfo(model, shown());
    prompt.value = info.prompt ?? "";
    negative.value = info.negative_prompt ?? "";
    steps.value = info.steps ?? "";
    seed.value = info.seed ?? "";
    form.seedRandom = false;
    ["prompt", "negative", "steps", "seed"].forEach((name) => form.dirty.add(name));
  }, false);
  enlarge.addEventListener("click", () => {
    const on2 = !el.classList.contains("sdw-large");
    el.classList.toggle("sdw-large", on2);
    enlarge.setAttribute("aria-pressed", String(on2));
  });
  for (const name of ["prompt", "negative", "steps", "seed"]) {
    ui[name].addEventListener("input", () => {
      form.dirty.add(name);
      if (name === "seed") form.seedRandom = false;
      ui[name].removeAttribute("aria-invalid");
      if (name === "steps") nextPlan.clear();
      if (name === "prompt" || name === "negative" || name === "steps") update();
    });
  }
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => {
    guidanceValue.textContent = Number(guidance.value).toFixed(1);
    if (showsNext()) schedule();
  });
  guidance.addEventListener("change", () => {
    localMessage = "";
    showMessage();
    const value = Number.parseFloat(guidance.value);
    if (value === model.get("guidance") && !sentGuidance.length) return;
    sentGuidance.push(value);
    model.send({ type: "guidance", value });
  });
  scrub.addEventListener("input", () => pickStep(Number(scrub.value) - 1));
  const planning = () => shown() === live() && running() && !(breakMode && !running());
  const planningNext = () => !running() && !breakMode && model.get("has_model");
  const startNext = (x, y) => {
    drag = { next: true, last: null, touched: /* @__PURE__ */ new Set() };
    chartNext();
    const i = stepAt(curve2, x), value = valueAt(curve2, y);
    if (i === null || value === null) return;
    nextPlan.set(i, value);
    drag.last = i;
    dragged = true;
    update();
  };
  curve2.svg.addEventListener("pointerdown", (event) => {
    dragged = false;
    if (planningNext() && event.button === 0) {
      event.preventDefault();
      curve2.svg.setPointerCapture(event.pointerId);
      if (nextPlan.size) startNext(event.clientX, event.clientY);
      else press = { x: event.clientX, y: event.clientY };
      return;
    }
    const i = stepAt(curve2, event.clientX), value = valueAt(curve2, event.clientY);
    if (!planning() || i === null || value === null || i < model.get("step")) return;
    event.preventDefault();
    curve2.svg.setPointerCapture(event.pointerId);
    drag = { last: i, touched: /* @__PURE__ */ new Set([i]) };
    plan.set(i, value);
    schedule();
  });
  curve2.svg.addEventListener("pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > 4) {
      startNext(press.x, press.y);
      press = null;
    }
    hover = stepAt(curve2, event.clientX);
    if (drag?.next && hover !== null && drag.last !== null) {
      const value = valueAt(curve2, event.clientY), from = drag.last, before = nextPlan.get(from) ?? value;
      const dir = hover >= from ? 1 : -1;
      for (let k = from; k !== hover + dir; k += dir) {
        const t = hover === from ? 1 : (k - from) / (hover - from);
        nextPlan.set(k, Math.round((before + (value - before) * t) * 10) / 10);
      }
      drag.last = hover;
    } else if (drag && !drag.next && hover !== null) {
      const value = valueAt(curve2, event.clientY), from = drag.last, first = model.get("step");
      const dir = hover >= from ? 1 : -1, before = plan.get(from) ?? value;
      for (let k = from; k !== hover + dir; k += dir) {
        if (k < first) continue;
        const t = hover === from ? 1 : (k - from) / (hover - from);
        plan.set(k, Math.round((before + (value - before) * t) * 10) / 10);
        drag.touched.add(k);
      }
      drag.last = hover;
    }
    schedule();
  });
  const endDrag = () => {
    press = null;
    if (drag?.next) {
      drag = null;
      return update();
    }
    if (!drag) return;
    const first = model.get("step"), touched = [...drag.touched].filter((k) => k >= first).sort((a, b) => a - b);
    drag = null;
    if (!touched.length) return;
    const start = touched[0], end = touched.at(-1), values = [];
    for (let k = start; k <= end; k++) values.push(plan.get(k) ?? model.get("guidance"));
    localMessage = "";
    showMessage();
    model.send({ type: "plan", start, values });
  };
  curve2.svg.addEventListener("pointerup", endDrag);
  curve2.svg.addEventListener("pointercancel", endDrag);
  curve2.svg.addEventListener("pointerleave", () => {
    hover = null;
    schedule();
  });
  curve2.svg.addEventListener("click", (event) => {
    const i = stepAt(curve2, event.clientX);
    if (dragged || nextPlan.size && !running() && !breakMode) return dragged = false;
    if (breakMode && !running()) return i !== null && toggleBreak(i + 1);
    if (i !== null && i < store.count(shown())) pickStep(i);
  });
  el.addEventListener("keydown", keepKeys);
  const nextKey = (event) => {
    if (event.key !== "n" || event.ctrlKey || event.metaKey || event.altKey || TYPED.includes(event.target.tagName)) return;
    event.preventDefault();
    next.click();
  };
  el.addEventListener("keydown", nextKey);
  model.on("msg:custom", custom);
  const resized = new ResizeObserver(([entry]) => {
    ({ width: box.width, height: box.height } = entry.contentRect);
    rule();
  });
  resized.observe(main.img.parentElement);
  const stripResized = new ResizeObserver(() => strip.mark(strip.current, true));
  stripResized.observe(strip.el);
  const offs = [];
  const on = (event, handler) => {
    model.on(event, handler);
    offs.push(() => model.off(event, handler));
  };
  offs.push(watch((key) => key === shown() ? update() : key === compareKey() && schedule()));
  for (const [name, trait] of Object.entries(FIELDS)) if (name !== "guidance") on(`change:${trait}`, () => fill(name));
  on("change:guidance", () => {
    const i = sentGuidance.indexOf(model.get("guidance"));
    sentGuidance = i < 0 ? [] : sentGuidance.slice(i + 1);
    if (!sentGuidance.length) fill("guidance");
  });
  on("change:run_id", () => {
    plan.clear();
    runBreaks = { key: live(), steps: pendingBreaks };
    pendingBreaks = [];
    return viewKey || (pinned = false);
  });
  on("change:runs", () => {
    if (viewKey && !(model.get("runs") || []).some((r) => r.key === viewKey)) view(0);
    options();
  });
  on("change:status", options);
  on("change:view", () => view(model.get("view")));
  on("change:message", () => {
    if (model.get("message")) localMessage = "";
    showMessage();
  });
  for (const name of STATUS_TRAITS) on(`change:${name}`, update);
  for (const name of ANSWERS) on(`change:${name}`, settle);
  Object.keys(FIELDS).forEach(fill);
  options();
  view(model.get("view"));
  layout(el, ui, strip.el);
  const sweep = sweepPanel(model, () => view(0));
  el.append(sweep.el);
  return () => {
    sweep.close();
    offs.forEach((off) => off());
    el.removeEventListener("keydown", keepKeys);
    el.removeEventListener("keydown", nextKey);
    model.off("msg:custom", custom);
    resized.disconnect();
    stripResized.disconnect();
    if (scheduled) cancelAnimationFrame(scheduled);
    clearTimeout(busyTimer);
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
