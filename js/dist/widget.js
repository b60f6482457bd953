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

// src/frames.js
function imageBlob(bytes2) {
  const first = new Uint8Array(bytes2.buffer ?? bytes2, bytes2.byteOffset ?? 0, 1)[0];
  return new Blob([bytes2], { type: first === 137 ? "image/png" : "image/webp" });
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
  setFinal(key, bytes2) {
    if (!this.finals.has(key)) this.finals.set(key, imageBlob(bytes2));
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
    const bytes2 = model.get("image"), key = model.get("run_id");
    if (key && bytes2?.byteLength && DONE.includes(model.get("status"))) {
      store.setFinal(key, bytes2);
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

// src/encoding.js
var encodedText = (seconds) => `Prompt encoded in ${seconds.toFixed(1)} s; it applies from the next step`;
function promptEncoding(ctx) {
  const { model, ui } = ctx;
  const count = h("span", { "aria-hidden": "true" });
  const line = h("div", { class: "sdw-encoding", hidden: true });
  let started = 0, timer = 0;
  const say = (text, counting = false) => {
    line.replaceChildren(text, ...counting ? [count] : []);
    line.hidden = !text;
  };
  const tick2 = () => count.textContent = ` ${((performance.now() - started) / 1e3).toFixed(1)} s`;
  const stop = () => {
    clearInterval(timer);
    timer = 0;
  };
  ctx.on("msg:custom", (msg) => {
    if (msg?.type !== "prompt_encoded" || !timer) return;
    stop();
    say(msg.error ? "The new prompt was not applied" : encodedText(msg.seconds));
  });
  ctx.on("change:run_id", () => timer || say(""));
  ctx.offs.push(stop);
  return {
    // Apply prompt was pressed: count until the kernel answers.
    start() {
      stop();
      ui.status.append(line);
      started = performance.now();
      say("Encoding the new prompt\u2026", true);
      tick2();
      timer = setInterval(tick2, 100);
    }
  };
}

// src/chart.js
var W = 300;
var H = 60;
var PAD = 3;
var DASHES = ["none", "1 2", "1 4"];
var THIN = "fill:none;stroke:var(--sdw-fg);stroke-opacity:0.55;stroke-width:1.25";
var SAMPLE = "display:inline-block;width:18px;height:0;margin:0 4px 0 6px;vertical-align:middle;border-top:1.5px solid var(--sdw-fg);opacity:0.55";
function axisTop(series) {
  return Math.max(10, Math.ceil(Math.max(0, ...series.flat()) / 5) * 5);
}
function align(pos, total, other) {
  return other === total || !total ? pos : Math.max(0, Math.round((pos + 1) / total * other) - 1);
}
var stepX = (i, n) => (n > 1 ? i / (n - 1) * (W - 2 * PAD) + PAD : W / 2) / W;
var roundTo = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;
var fmt = (g2, digits = 1) => g2 == null ? "\u2013" : Number(g2).toFixed(digits);
var tick = (v) => String(roundTo(v, 2));
function sparkline(curve2, series, current, extra = {}) {
  const plan = extra.plan || /* @__PURE__ */ new Map(), breaks = extra.breaks || [], cfgSwitch = extra.switch !== false;
  const interval2 = extra.interval || null;
  const offAt = typeof extra.switch === "number" ? extra.switch : 1;
  const scale = extra.scale || { label: "Guidance", low: 0, top: null, digits: 1 }, others = extra.others || [];
  const low = scale.low || 0, digits = scale.digits ?? 1;
  const top = scale.top ?? axisTop([...series.map((s) => s.values), [...plan.values()]]);
  const span2 = (s) => Math.max(s.total || 0, s.values.length, 1);
  const x = (i, s) => span2(s) > 1 ? i / (span2(s) - 1) * (W - 2 * PAD) + PAD : W / 2;
  const within = (g2, lo, hi) => H - PAD - (Math.min(Math.max(g2, lo), hi) - lo) / (hi - lo || 1) * (H - 2 * PAD);
  const y = (g2) => within(g2, low, top);
  const points = (values2, s, at3 = y) => values2.map((g2, k) => `${x(k, s).toFixed(1)},${at3(g2).toFixed(1)}`).join(" ");
  const key = `${scale.label}|${low}|${top}|${series.map((s) => `${s.name}:${s.role}:${span2(s)}:${s.values.length}:${s.values.at(-1)}`).join("|")}|${[...plan].join(";")}|${breaks.join(",")}|${cfgSwitch}|${interval2}|${others.map((o) => `${o.label}:${o.values.join(",")}`).join("|")}`;
  const [main, other] = series;
  if (curve2.key !== key) {
    curve2.key = key;
    const lines = series.map((s, i) => ({ s, i })).reverse().map(({ s, i }) => svgNode("polyline", {
      points: points(s.values, s),
      class: i ? "sdw-compare-line" : "sdw-main-line",
      "vector-effect": "non-scaling-stroke"
    }));
    const thin = main ? others.map((o, j) => svgNode("polyline", {
      points: points(o.values, main, (g2) => within(g2, o.low, o.high)),
      class: "sdw-knob-line",
      style: `${THIN};stroke-dasharray:${DASHES[j % DASHES.length]}`,
      "vector-effect": "non-scaling-stroke"
    })) : [];
    curve2.marker = svgNode("line", { y1: 0, y2: H, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    const cfg = svgNode("line", {
      x1: 0,
      x2: W,
      y1: y(offAt),
      y2: y(offAt),
      class: "sdw-cfg-line",
      "vector-effect": "non-scaling-stroke"
    });
    const steps = [...plan.keys()].sort((a, b) => a - b);
    const planned = steps.length ? [svgNode("polyline", {
      points: steps.map((k) => `${x(k, main).toFixed(1)},${y(plan.get(k)).toFixed(1)}`).join(" "),
      class: "sdw-plan-line",
      "vector-effect": "non-scaling-stroke"
    })] : [];
    const ticks = main ? breaks.filter((b) => b >= 1 && b <= span2(main)).map((b) => svgNode("line", {
      x1: x(b - 1, main),
      x2: x(b - 1, main),
      y1: 0,
      y2: H,
      class: "sdw-break",
      "vector-effect": "non-scaling-stroke"
    })) : [];
    const n = main ? span2(main) : 0, edge = (i) => stepX(Math.min(Math.max(i, 0), n - 1), n) * W;
    const shade = interval2 && n > 1 ? [svgNode("rect", {
      x: edge(interval2[0] - 0.5),
      y: 0,
      height: H,
      width: Math.max(0, edge(interval2[1] - 0.5) - edge(interval2[0] - 0.5)),
      class: "sdw-interval",
      style: "fill:var(--sdw-accent);fill-opacity:0.13"
    })] : [];
    curve2.svg.replaceChildren(...shade, ...cfgSwitch ? [cfg] : [], ...ticks, ...thin, ...lines, ...planned, curve2.marker);
    Object.assign(curve2, { lowValue: low, topValue: top, digits });
    curve2.top.textContent = tick(top);
    curve2.bottom.textContent = tick(low);
    curve2.title.textContent = `${scale.label} per step`;
    curve2.cfg.hidden = !cfgSwitch;
    curve2.cfg.textContent = `${fmt(offAt)} \xB7 CFG off below`;
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
    const said = others.filter((o) => o.values.length).map((o) => `; ${o.label} ${fmt(o.values[0], o.digits)} at step 1, ${fmt(o.values.at(-1), o.digits)} at step ${o.values.length}`);
    const applies = interval2 ? `; guidance applies at steps ${interval2[0] + 1} to ${interval2[1]}` : "";
    curve2.svg.setAttribute("aria-label", (values2.length ? `${scale.label} per step of ${main.name}: ${fmt(values2[0], digits)} at step 1, ${fmt(values2.at(-1), digits)} at step ${values2.length}${said.join("")}` : `${scale.label} per step: no steps yet`) + applies);
  }
  curve2.n = main ? span2(main) : 0;
  const values = main?.values || [];
  const at2 = Math.max(0, Math.min(current, values.length - 1));
  curve2.marker.setAttribute("x1", x(at2, main || { values }));
  curve2.marker.setAttribute("x2", x(at2, main || { values }));
  curve2.marker.style.visibility = current >= 0 && values.length ? "visible" : "hidden";
  let text = "";
  if (current >= 0 && values.length) {
    text = `Step ${at2 + 1}: ${fmt(values[at2], digits)}`;
    if (!other) {
      if (cfgSwitch) text += ` (CFG ${values[at2] > offAt ? "on" : "off"})`;
    } else {
      const j = align(at2, span2(main), span2(other));
      const theirs = j < other.values.length ? `step ${j + 1}: ${fmt(other.values[j], digits)}` : `ended at step ${other.values.length}`;
      text = `${main.name} ${text.toLowerCase()} \xB7 ${other.name} ${theirs}`;
    }
  }
  curve2.readout.textContent = text;
  knobLegend(curve2, others, current >= 0 && values.length ? at2 : -1);
}
function knobLegend(curve2, others, at2) {
  const text = others.map((o) => `${o.label} ${tick(o.low)}\u2013${tick(o.high)}` + (at2 >= 0 && at2 < o.values.length ? `: ${fmt(o.values[at2], o.digits)} at step ${at2 + 1}` : "")).join("|");
  curve2.knobs.hidden = !others.length;
  if (curve2.knobs.dataset.text === text) return;
  curve2.knobs.dataset.text = text;
  curve2.knobs.replaceChildren(h("span", {}, "Thin:"), ...text.split("|").filter(Boolean).flatMap((words, j) => [
    h("span", { style: `${SAMPLE};border-top-style:${j % DASHES.length ? "dotted" : "solid"}`, "aria-hidden": "true" }),
    words
  ]));
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
  const low = curve2.lowValue || 0, top = curve2.topValue ?? 10;
  const g2 = low + (H - PAD - yy) / (H - 2 * PAD) * (top - low);
  return roundTo(Math.max(low, Math.min(top, g2)), curve2.digits ?? 1);
}

// src/knobs.js
var GUIDANCE_TOP = 20;
var FIRST = { name: "guidance_scale", kind: "cfg", default: 7.5, low: 0, high: 100, off_at: 1, meaning: "" };
var knobLabel = (knob, i) => i === 0 ? "Guidance" : `${knob.name[0].toUpperCase()}${knob.name.slice(1).replaceAll("_", " ")}`;
var knobDigits = (knob) => knob.kind === "steps" ? 0 : knob.high - knob.low <= 2 ? 2 : 1;
var sliderTop = (knob, i) => i === 0 ? Math.min(knob.high, GUIDANCE_TOP) : knob.high;
function knobControl(ctx) {
  const { model, ui } = ctx;
  const { knob: select, knobPick, knobName, guidance: slider, guidanceValue } = ui;
  let index = 0;
  let built = "";
  const sent = /* @__PURE__ */ new Map();
  let seen = {};
  const list = () => model.get("knobs")?.length ? model.get("knobs") : [FIRST];
  const kernel = (k, i) => i === 0 ? model.get("guidance") : (model.get("knob_values") || {})[k.name] ?? k.default;
  const asked = (i) => {
    const k = list()[i];
    return sent.get(k.name)?.length ? sent.get(k.name).at(-1) : kernel(k, i);
  };
  const readout = () => guidanceValue.textContent = Number(slider.value).toFixed(knobDigits(list()[index]));
  function retarget() {
    const k = list()[index], digits = knobDigits(k), label = knobLabel(k, index);
    Object.assign(slider, { min: String(k.low), max: String(sliderTop(k, index)), step: String(10 ** -digits) });
    slider.value = String(asked(index));
    slider.setAttribute("aria-label", label);
    slider.title = k.meaning || "";
    select.title = k.meaning || "";
    knobName.textContent = label;
    readout();
  }
  function show() {
    const knobs = list(), names = knobs.map((k) => k.name).join(",");
    if (names !== built) {
      built = names;
      index = Math.min(index, knobs.length - 1);
      select.replaceChildren(...knobs.map((k, i) => Object.assign(
        document.createElement("option"),
        { value: k.name, textContent: knobLabel(k, i) }
      )));
      select.value = knobs[index].name;
      retarget();
    }
    knobPick.hidden = knobs.length < 2;
    knobName.hidden = !knobPick.hidden;
  }
  function kernelChanged() {
    const now = Object.fromEntries(list().map((k, i) => [k.name, kernel(k, i)])), mine = list()[index].name;
    const changed = Object.keys(now).filter((name) => !(name in seen) || seen[name] !== now[name]);
    for (const name of changed) {
      const waiting = sent.get(name) || [], i = waiting.indexOf(now[name]);
      sent.set(name, i < 0 ? [] : waiting.slice(i + 1));
    }
    seen = now;
    if (changed.includes(mine) && !sent.get(mine)?.length) {
      slider.value = String(asked(index));
      readout();
    }
  }
  ctx.listen(select, "change", () => {
    index = Math.max(0, list().findIndex((k) => k.name === select.value));
    retarget();
    ctx.curve?.reset();
    ctx.update();
  });
  ctx.listen(slider, "input", readout);
  ctx.listen(slider, "change", () => {
    ctx.say("");
    const k = list()[index], value = Number.parseFloat(slider.value);
    if (value === kernel(k, index) && !sent.get(k.name)?.length) return;
    sent.set(k.name, [...sent.get(k.name) || [], value]);
    model.send(index === 0 ? { type: "guidance", value } : { type: "knob", name: k.name, value });
  });
  ctx.on("change:guidance", kernelChanged);
  ctx.on("change:knob_values", kernelChanged);
  ctx.on("change:knobs", () => (show(), kernelChanged()));
  show();
  kernelChanged();
  ctx.statuses.push(show);
  return {
    // The selected knob, its index, label, axis (the guidance's top is drawn to fit) and digits.
    selected() {
      const k = list()[index];
      return {
        ...k,
        index,
        label: knobLabel(k, index),
        first: index === 0,
        digits: knobDigits(k),
        top: index === 0 ? null : k.high
      };
    },
    all: list,
    asked,
    // The knobs not selected, drawn thin over their own ranges (the guidance's up to its axis's top),
    // with their values per step from `valuesAt(knob, index)`.
    others: (valuesAt) => list().map((k, i) => [k, i]).filter(([, i]) => i !== index).map(([k, i]) => {
      const values = valuesAt(k, i);
      return {
        label: knobLabel(k, i),
        values,
        low: i === 0 ? 0 : k.low,
        high: i === 0 ? axisTop([values]) : k.high,
        digits: knobDigits(k)
      };
    }),
    // The later knobs' asked values, by name: what a Branch from here continues with.
    laterAsked: () => Object.fromEntries(list().slice(1).map((k, i) => [k.name, asked(i + 1)]))
  };
}

// src/form.js
var ACTIVE = ["running", "paused"];
var FIELDS = { prompt: "prompt", negative: "negative_prompt", steps: "steps", seed: "seed" };
function fillField(ui, model, name, { dirty, seedRandom }) {
  const input = ui[name];
  if (dirty.has(name)) return;
  const value = model.get(FIELDS[name]);
  if (name === "seed" && (seedRandom || value == null)) input.value = "";
  else input.value = value;
}
function readForm(ui, guidance) {
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
      guidance
    }
  };
}
var interval = (list) => list?.length === 2 ? list : null;
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
      knobs: model.get("knob_applied") || {},
      error: model.get("error"),
      prompts: model.get("edits") || [],
      holds: entry?.holds || [],
      saved: entry?.saved || "",
      live: true,
      parent: entry?.parent ?? null,
      branch_step: entry?.branch_step ?? null,
      guider: entry?.guider,
      // The trait is the run's while it goes; once it has ended, the next run's (its entry keeps its own).
      guidance_interval: interval(ACTIVE.includes(model.get("status")) || !entry ? model.get("guidance_interval") : entry.guidance_interval),
      asked: model.get("guidance")
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
var span = (name, first, last, digits) => first == null ? "" : first === last ? ` \xB7 ${name} ${Number(first).toFixed(digits)}` : ` \xB7 ${name} ${Number(first).toFixed(digits)} \u2192 ${Number(last).toFixed(digits)}`;
function laterKnobs(info, knobs = []) {
  return Object.entries(info.knobs || {}).map(([name, values]) => {
    const i = knobs.findIndex((k2) => k2.name === name), k = knobs[i] || { name, low: 0, high: 1 };
    if (!values.length || values.every((v) => v === k.default)) return "";
    return span(knobLabel(k, Math.max(i, 1)).toLowerCase(), values[0], values.at(-1), knobDigits(k));
  }).join("");
}
function guidanceSpan(info) {
  const g2 = info.guidance || [];
  if (!info.guidance_interval) return span("guidance", g2[0] ?? info.guidance_scale, g2.at(-1) ?? info.guidance_scale, 1);
  const [a, b] = info.guidance_interval, inside = g2.slice(a, b), at2 = ` at steps ${a + 1}\u2013${b}`;
  const first = inside[0] ?? info.asked;
  return first == null ? ` \xB7 guidance${at2}` : span("guidance", first, inside.at(-1) ?? first, 1) + at2;
}
function detailsText(info, knobs) {
  if (!info) return "";
  const guidance = guidanceSpan(info) + laterKnobs(info, knobs);
  const negative = info.negative_prompt ? ` \xB7 not: \u201C${info.negative_prompt}\u201D` : "";
  const branch = info.parent ? ` \xB7 branch of #${info.parent} at step ${info.branch_step}` : "";
  const guider = info.guider ? ` \xB7 ${info.guider}` : "";
  return `${quoted(info.prompt)}${edits(info)}${negative} \xB7 ${info.steps} steps \xB7 seed ${info.seed ?? "random"}${guider}${guidance}${branch}`;
}
function enable(button, on, why = "") {
  if (button.getAttribute("aria-disabled") !== String(!on)) button.setAttribute("aria-disabled", String(!on));
  const title = (on ? button.dataset.title : why) || "";
  if (button.title !== title) {
    if (title) button.title = title;
    else button.removeAttribute("title");
  }
}

// src/compose.js
function composer(ctx) {
  const { model, ui } = ctx;
  const { prompt, negative, generate, applyPrompt } = ui;
  const form = { dirty: /* @__PURE__ */ new Set(), seedRandom: false };
  const fill = (name) => fillField(ui, model, name, form);
  const encoding = promptEncoding(ctx);
  function show() {
    const running = ctx.running();
    enable(
      generate,
      model.get("has_model") && !running,
      running ? "A run is going: Stop it or wait for it to finish, then Generate" : "No model attached"
    );
    applyPrompt.hidden = !(running && (form.dirty.has("prompt") || form.dirty.has("negative")));
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
    form.dirty.clear();
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
    }
  };
}

// src/interval.js
var BAR = "position:absolute;top:-4px;bottom:-4px;width:14px;cursor:ew-resize;touch-action:none;z-index:1;display:flex;border-radius:3px";
var LINE = "width:3px;height:100%;background:var(--sdw-accent);border-radius:2px";
var GRIP = "position:absolute;top:0;width:10px;height:10px;border-radius:50%;background:var(--sdw-accent);border:2px solid var(--jp-layout-color1, #fff)";
var HANDLES = [
  { label: "Guidance starts at step", value: ([first]) => first + 1, side: "margin-left:-2px", grip: "left:0" },
  {
    label: "Guidance ends at step",
    value: ([, end]) => end,
    side: "margin-left:-12px;justify-content:flex-end",
    grip: "right:0"
  }
];
function intervalHandles(ctx, curve2) {
  const { model } = ctx;
  let n = 0;
  let moved = null;
  let drag = null;
  const nodes = HANDLES.map(({ label, side, grip }, i) => {
    const node = h(
      "div",
      {
        role: "slider",
        tabindex: "0",
        "aria-label": label,
        "aria-orientation": "horizontal",
        "data-lm-suppress-shortcuts": "true",
        class: "sdw-interval-handle",
        style: `${BAR};${side}`,
        hidden: true,
        title: `${label}: drag, or use the arrow keys. Guidance is off (one model pass a step) outside the shaded steps`
      },
      h("span", { style: LINE, "aria-hidden": "true" }),
      h("span", { style: `${GRIP};${grip}`, "aria-hidden": "true" })
    );
    node.addEventListener("keydown", (event) => key(event, i));
    node.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      node.setPointerCapture(event.pointerId);
      node.focus();
      drag = i;
    });
    node.addEventListener("pointermove", (event) => {
      const step = drag === i ? stepAt(curve2, event.clientX) : null;
      if (step !== null) set(i, i === 0 ? step : step + 1, false);
    });
    const end = () => drag === i && (drag = null, send());
    node.addEventListener("pointerup", end);
    node.addEventListener("pointercancel", end);
    return node;
  });
  curve2.svg.parentElement.append(...nodes);
  function current() {
    const [first, end] = moved || model.get("guidance_interval") || [];
    if (first == null || n < 1) return [0, n];
    const f = Math.min(first, n - 1);
    return [f, Math.max(f + 1, Math.min(end, n))];
  }
  function recorded() {
    const [first, end] = runInfo(model, ctx.preview.where()?.key)?.guidance_interval || [];
    return first == null || n < 2 ? null : [Math.min(first, n - 1), Math.min(end, n)];
  }
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
    const [first, end] = current(), at2 = i === 0 ? first : end, page = Math.max(1, Math.round(n / 10));
    const to = {
      ArrowLeft: at2 - 1,
      ArrowDown: at2 - 1,
      ArrowRight: at2 + 1,
      ArrowUp: at2 + 1,
      PageDown: at2 - page,
      PageUp: at2 + page,
      Home: i === 0 ? 0 : first + 1,
      End: i === 0 ? end - 1 : n
    }[event.key];
    if (to === void 0) return;
    event.preventDefault();
    if (to !== at2) set(i, to);
  }
  function place(steps = n, shown = !nodes[0].hidden) {
    n = steps;
    const on = shown && n > 1;
    const interval2 = current();
    nodes.forEach((node, i) => {
      node.hidden = !on;
      if (!on) return;
      const value = HANDLES[i].value(interval2), edge = i === 0 ? interval2[0] - 0.5 : interval2[1] - 0.5;
      node.style.left = `${stepX(Math.min(Math.max(edge, 0), n - 1), n) * 100}%`;
      const [low, high] = i === 0 ? [1, interval2[1]] : [interval2[0] + 1, n];
      for (const [name, v] of [["aria-valuemin", low], ["aria-valuemax", high], ["aria-valuenow", value]])
        node.setAttribute(name, String(v));
      node.setAttribute("aria-valuetext", `step ${value} of ${n}`);
    });
  }
  ctx.on("change:guidance_interval", () => (moved = null, ctx.update()));
  ctx.on("change:message", () => model.get("message") && (moved = null));
  return {
    // What the chart shades: the handles' interval, else the shown run's own; null for every step.
    shaded: () => {
      const interval2 = nodes[0].hidden ? recorded() : current();
      return !interval2 || interval2[0] === 0 && interval2[1] === n ? null : interval2;
    },
    // Called by the chart with the steps it shows and whether the handles belong on it.
    place: (steps, editable) => place(steps, editable && model.get("guidance_kind") !== "distilled")
  };
}

// src/curve.js
var mapOf = (maps, name) => maps.get(name) ?? maps.set(name, /* @__PURE__ */ new Map()).get(name);
var size = (maps) => [...maps.values()].reduce((n, m) => n + m.size, 0);
var valuesOf = (info, k, i) => (i === 0 ? info?.guidance : info?.knobs?.[k.name]) || [];
function guidanceCurve(ctx) {
  const { model, ui, el, store } = ctx;
  const { curve: curve2, guidance, steps, clearPlan } = ui;
  const plans = /* @__PURE__ */ new Map();
  const nextPlans = /* @__PURE__ */ new Map();
  let pendingBreaks = [], runBreaks = { key: 0, steps: [] };
  let drag = null;
  let press = null;
  let dragged = false;
  let hover = null;
  const handles = intervalHandles(ctx, curve2);
  const breakMode = () => ctx.steering.breakMode();
  const sel = () => ctx.knobs.selected();
  const plan = () => mapOf(plans, sel().name), nextPlan = () => mapOf(nextPlans, sel().name);
  const formSteps = () => Math.max(1, Math.min(1e3, Number.parseInt(steps.value, 10) || model.get("steps") || 1));
  const nextSchedule = (k = sel(), i = sel().index) => {
    const base = ctx.knobs.asked(i), drawn = mapOf(nextPlans, k.name);
    return Array.from({ length: formSteps() }, (_, s) => drawn.get(s) ?? base);
  };
  const showsNext = () => !ctx.running() && (breakMode() || size(nextPlans) > 0 || Boolean(drag?.next) || !ctx.live());
  const extra = (more) => ({ scale: sel(), switch: sel().kind === "cfg" && (sel().off_at ?? 1), interval: handles.shaded(), ...more });
  const others = (valuesAt) => ctx.knobs.others(valuesAt);
  function chartNext() {
    const total = formSteps();
    handles.place(total, true);
    sparkline(curve2, [{ values: nextSchedule(), total, name: "Next run" }], hover ?? -1, extra({
      plan: new Map([...nextPlan()].filter(([k]) => k < total)),
      breaks: model.get("breakpoints") || [],
      others: others((k, i) => nextSchedule(k, i))
    }));
  }
  function paint() {
    if (showsNext()) return chartNext();
    const where = ctx.preview.where(), key = where.key, info = runInfo(model, key), frames = store.get(key);
    const total = frames[0]?.total || info?.steps || 1;
    const { index } = sel(), of = (run) => valuesOf(run, sel(), index);
    const shown = index === 0 && !of(info).length ? frames.slice(0, where.n).map((f) => f.guidance) : of(info);
    const series = [where.pos < 0 ? { values: of(info), total: info?.steps || 0, name: info?.name || "" } : { values: shown, total, name: info?.name || `#${key}` }];
    const cmp = ctx.compareKey();
    if (where.pos >= 0 && cmp) {
      const cmpInfo = runInfo(model, cmp);
      series.push({ values: of(cmpInfo), total: cmpInfo?.steps || 0, name: cmpInfo?.name || `#${cmp}` });
    } else if (where.pos >= 0 && info?.parent) {
      const parent = runInfo(model, info.parent);
      if (parent) series.push({ values: of(parent), total: parent.steps || 0, name: parent.name, role: "parent" });
    }
    const own = key === ctx.live(), done = series[0].values.length;
    const planned = own ? new Map([...plan()].filter(([k]) => k >= done - 1)) : void 0;
    const last = planned?.size ? Math.max(...planned.keys()) : -1;
    for (let k = last + 1; last >= 0 && k < (series[0].total || 0); k++) planned.set(k, planned.get(last));
    const current = where.pos < 0 ? -1 : hover ?? (where.atFinal ? where.n - 1 : where.pos);
    handles.place(series[0].total, own && where.pos >= 0);
    sparkline(curve2, series, current, extra({
      plan: planned,
      breaks: own && runBreaks.key === key ? runBreaks.steps : [],
      others: others((k, i) => valuesOf(info, k, i))
    }));
  }
  function show() {
    clearPlan.hidden = !(size(nextPlans) > 0 && !ctx.running());
    el.classList.toggle("sdw-planmode", !ctx.running() && !breakMode() && size(nextPlans) > 0);
  }
  const planning = () => ctx.shown() === ctx.live() && ctx.running();
  const planningNext = () => !ctx.running() && !breakMode() && model.get("has_model");
  const startNext = (x, y) => {
    drag = { next: true, last: null, touched: /* @__PURE__ */ new Set() };
    chartNext();
    const i = stepAt(curve2, x), value = valueAt(curve2, y);
    if (i === null || value === null) return;
    nextPlan().set(i, value);
    drag.last = i;
    dragged = true;
    ctx.update();
  };
  function sweep(into, to, value, first = 0) {
    const from = drag.last, dir = to >= from ? 1 : -1, before = into.get(from) ?? value;
    for (let k = from; k !== to + dir; k += dir) {
      if (k < first) continue;
      into.set(k, roundTo(before + (value - before) * (to === from ? 1 : (k - from) / (to - from)), sel().digits));
      drag.touched.add(k);
    }
    drag.last = to;
  }
  const svg = curve2.svg;
  ctx.listen(svg, "pointerdown", (event) => {
    dragged = false;
    if (planningNext() && event.button === 0) {
      event.preventDefault();
      svg.setPointerCapture(event.pointerId);
      if (size(nextPlans)) startNext(event.clientX, event.clientY);
      else press = { x: event.clientX, y: event.clientY };
      return;
    }
    const i = stepAt(curve2, event.clientX), value = valueAt(curve2, event.clientY);
    if (!planning() || i === null || value === null || i < model.get("step")) return;
    event.preventDefault();
    svg.setPointerCapture(event.pointerId);
    drag = { last: i, touched: /* @__PURE__ */ new Set([i]) };
    plan().set(i, value);
    ctx.schedule();
  });
  ctx.listen(svg, "pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > 4) {
      startNext(press.x, press.y);
      press = null;
    }
    hover = stepAt(curve2, event.clientX);
    if (drag && hover !== null && drag.last !== null) {
      const value = valueAt(curve2, event.clientY);
      if (drag.next) sweep(nextPlan(), hover, value);
      else sweep(plan(), hover, value, model.get("step"));
    }
    ctx.schedule();
  });
  const endDrag = () => {
    press = null;
    if (drag?.next) {
      drag = null;
      return ctx.update();
    }
    if (!drag) return;
    const first = model.get("step"), touched = [...drag.touched].filter((k) => k >= first).sort((a, b) => a - b);
    drag = null;
    if (!touched.length) return;
    const start = touched[0], end = touched.at(-1), values = [];
    const { index, name } = sel(), mine = plan();
    for (let k = start; k <= end; k++) values.push(mine.get(k) ?? ctx.knobs.asked(index));
    ctx.say("");
    model.send({ type: "plan", start, values, ...index ? { knob: name } : {} });
  };
  ctx.listen(svg, "pointerup", endDrag);
  ctx.listen(svg, "pointercancel", endDrag);
  ctx.listen(svg, "pointerleave", () => {
    hover = null;
    ctx.schedule();
  });
  ctx.listen(svg, "click", (event) => {
    const i = stepAt(curve2, event.clientX);
    if (dragged || size(nextPlans) && !ctx.running() && !breakMode()) return dragged = false;
    if (breakMode() && !ctx.running()) return i !== null && ctx.steering.toggleBreak(i + 1);
    if (i !== null && i < store.count(ctx.shown())) ctx.preview.pickStep(i);
  });
  ctx.listen(clearPlan, "click", () => {
    nextPlans.clear();
    ctx.update();
  });
  ctx.listen(guidance, "input", () => showsNext() && ctx.schedule());
  ctx.listen(steps, "input", () => nextPlans.clear());
  ctx.on("change:run_id", () => {
    plans.clear();
    runBreaks = { key: ctx.live(), steps: pendingBreaks };
    pendingBreaks = [];
  });
  ctx.paints.push(paint);
  ctx.statuses.push(show);
  return {
    reset: () => hover = null,
    // Generate: the next run's curves where drawn (the guidance's `schedule`, the other knobs'
    // `knobs` by name; null where none was drawn), and the holds it takes.
    takePlan(stepsAsked) {
      pendingBreaks = (model.get("breakpoints") || []).filter((b) => b <= stepsAsked);
      const drawn = ctx.knobs.all().map((k, i) => [k, i]).filter(([k]) => nextPlans.get(k.name)?.size);
      const later = drawn.filter(([, i]) => i > 0).map(([k, i]) => [k.name, nextSchedule(k, i)]);
      const out = {
        schedule: drawn.some(([, i]) => i === 0) ? nextSchedule(...drawn[0]) : null,
        knobs: later.length ? Object.fromEntries(later) : null
      };
      nextPlans.clear();
      return out;
    },
    branched: () => pendingBreaks = []
  };
}

// src/guider.js
function guiderSelect(ctx) {
  const { model, ui } = ctx;
  const select = h("select", {
    "aria-label": "Guider",
    style: "width:auto",
    "data-lm-suppress-shortcuts": "true",
    title: "How each step is guided (diffusers' guiders), for the next runs; its settings join the Knob list"
  });
  const row = h("label", { class: "sdw-row sdw-pace", hidden: true }, h("span", {}, "Guider"), select);
  ui.knobPick.closest(".sdw-field").before(row);
  let built = "";
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
  ctx.on("change:message", () => model.get("message") && show());
  show();
}

// src/fit.js
var SMALLEST = 96;
function limiter(el) {
  for (let n = el.parentElement ?? el.getRootNode().host; n; n = n.parentElement ?? n.getRootNode().host) {
    const style = getComputedStyle(n);
    if (style.maxHeight !== "none" && ["auto", "scroll"].includes(style.overflowY)) return n;
  }
  return null;
}
function hostFit(ctx) {
  const { el, ui } = ctx;
  let box, width = 0, frame = 0;
  function fit(entries) {
    box ?? (box = limiter(el));
    if (!box || el.classList.contains("sdw-large")) return;
    const seen = entries?.at(-1)?.contentRect.width;
    if (seen && Math.abs(seen - width) > 1) {
      width = seen;
      el.classList.remove("sdw-fit");
      return requestAnimationFrame(() => fit());
    }
    const excess = box.scrollHeight - box.clientHeight;
    const side = ui.main.img.parentElement.getBoundingClientRect().height;
    if (excess <= 1 || !side || side <= SMALLEST) return;
    frame = Math.max(SMALLEST, Math.floor(side - excess - 1));
    el.style.setProperty("--sdw-fit", `${frame}px`);
    el.classList.add("sdw-fit");
  }
  const observer = new ResizeObserver(fit);
  observer.observe(el);
  return { close: () => observer.disconnect() };
}

// src/history.js
function historyBar(ctx) {
  const { model, ui, el } = ctx;
  const { pick, compare, save, reuse, enlarge } = ui;
  const options = () => fillRuns(ui, model, ctx.viewKey);
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
    enable(save, Boolean(info) && !model.get("saving"), model.get("saving") ? "Saving a gallery\u2026" : "No run to save");
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
    if (ctx.viewKey && !(model.get("runs") || []).some((r) => r.key === ctx.viewKey)) view(0);
    options();
  });
  ctx.on("change:status", options);
  ctx.on("change:view", () => view(model.get("view")));
  ctx.statuses.push(show);
  options();
  return { view };
}

// src/status.js
var setText = (node, value) => node.textContent !== value && (node.textContent = value);
function statusLines(ctx) {
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
    setText(ui.saved, model.get("saving") ? "Saving gallery\u2026" : info?.saved ? `Saved gallery of ${info.name} to ${info.saved}` : "");
    ui.saved.hidden = !ui.saved.textContent;
  }
  ctx.statuses.push(show);
  ctx.on("change:message", () => {
    if (model.get("message")) ctx.local = "";
    ctx.showMessage();
  });
  return { show };
}

// src/effect.js
var W2 = 300;
var H2 = 24;
var PAD2 = 3;
var TITLE = "How much guidance changed the picture at each step";
var SHORT = "How much guidance changed the picture, per step";
var num = (v) => v >= 0.01 ? v.toPrecision(2) : v > 0 ? v.toExponential(1) : "0";
function heightLimited(el) {
  for (let n = el.parentElement ?? el.getRootNode().host; n; n = n.parentElement ?? n.getRootNode().host) {
    const style = getComputedStyle(n);
    if (style.maxHeight !== "none" && ["auto", "scroll"].includes(style.overflowY)) return true;
  }
  return false;
}
function effectTrace(ctx) {
  const { model, ui, el, store } = ctx;
  const svg = svgNode("svg", {
    viewBox: `0 0 ${W2} ${H2}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": TITLE,
    class: "sdw-effect-plot",
    style: "display:block;width:100%;height:100%;overflow:visible"
  });
  const title = h("span", {}, SHORT);
  const readout = h("span", { class: "sdw-effect-readout" });
  const body = h(
    "div",
    { class: "sdw-curve-body", style: `height:${H2}px` },
    h("div", { class: "sdw-axis-col", "aria-hidden": "true" }),
    h("div", { class: "sdw-plot-box" }, svg)
  );
  const box = h(
    "div",
    { class: "sdw-effect", style: "margin-top:4px" },
    h("div", { class: "sdw-effect-head", title: "The mean change of the step's x0 estimate between its guidance and guidance off (0 where CFG was off)" }, title, readout),
    body
  );
  const folded = h("span", { hidden: true, style: "margin-right:auto;font-size:11px;line-height:1.2" });
  ui.curve.el.append(box);
  ui.curve.el.querySelector(".sdw-curve-foot").prepend(folded);
  let limited = null;
  const classes = new MutationObserver(ctx.schedule);
  classes.observe(el, { attributes: true, attributeFilter: ["class"] });
  let drawn = "", marker = null, span2 = 1;
  const x = (i) => span2 > 1 ? i / (span2 - 1) * (W2 - 2 * PAD2) + PAD2 : W2 / 2;
  function draw(key, values, total, name) {
    span2 = Math.max(total, values.length, 1);
    const top = Math.max(0, ...values.filter((v) => v != null));
    const width = Math.max(1, Math.min(8, (W2 - 2 * PAD2) / Math.max(span2 - 1, 1) * 0.6));
    const bars = values.map((v, i) => !(v > 0) ? null : svgNode("rect", {
      x: (x(i) - width / 2).toFixed(2),
      width: width.toFixed(2),
      y: (H2 - v / top * (H2 - 2)).toFixed(2),
      height: (v / top * (H2 - 2)).toFixed(2),
      style: "fill:var(--sdw-accent);fill-opacity:0.7"
    })).filter(Boolean);
    marker = svgNode("line", { y1: 0, y2: H2, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    svg.replaceChildren(...bars, marker);
    const known = values.map((v, i) => [v, i]).filter(([v]) => v != null);
    const most = known.reduce((a, b) => b[0] > a[0] ? b : a, [-1, -1]);
    const least = known.reduce((a, b) => b[0] < a[0] ? b : a, [Infinity, -1]);
    svg.setAttribute("aria-label", known.length ? `${TITLE}, ${name}: most at step ${most[1] + 1} (${num(most[0])}), least at step ${least[1] + 1} (${num(least[0])})` : `${TITLE}: no steps yet`);
    setText(folded, known.length ? `Guidance acted most at step ${most[1] + 1}` : "");
    folded.title = svg.getAttribute("aria-label");
    drawn = key;
  }
  function paint() {
    const w = ctx.preview.where(), key = w?.key || 0, info = runInfo(model, key);
    const off = ["sdw-breakmode", "sdw-planmode"].some((name) => el.classList.contains(name));
    if (limited === null && el.isConnected) limited = heightLimited(el);
    const fold = Boolean(limited) && !el.classList.contains("sdw-large");
    box.hidden = off || fold;
    folded.hidden = off || !fold;
    const entry = (model.get("effects") || {})[String(key)], values = entry?.values || [];
    const total = store.get(key)[0]?.total || info?.steps || values.length;
    const none = key < 0 ? "a loaded gallery keeps no model outputs" : entry?.note && !values.some((v2) => v2 != null) ? entry.note : "";
    setText(title, none ? `No guidance effect to show: ${none}` : SHORT);
    body.hidden = Boolean(none);
    const id = `${key}|${total}|${values.join(",")}`;
    if (id !== drawn) draw(id, values, total, info?.name || `#${key}`);
    const at2 = w?.pos < 0 ? -1 : w?.atFinal ? w.n - 1 : w?.pos ?? -1;
    marker.setAttribute("x1", x(Math.max(at2, 0)));
    marker.setAttribute("x2", x(Math.max(at2, 0)));
    marker.style.visibility = at2 >= 0 ? "visible" : "hidden";
    const v = values[at2], cfgOff = v === 0;
    setText(readout, none || at2 < 0 || at2 >= values.length ? "" : v == null ? `step ${at2 + 1}: no lens` : `step ${at2 + 1}: ${cfgOff ? "0 (CFG off)" : num(v)}`);
  }
  return { paint, close: () => classes.disconnect() };
}

// src/asker.js
var LOST = 5e3;
var keyOf = (r) => r ? `${r.run}|${r.step}|${r.guidance ?? ""}${r.paid ? "|paid" : ""}${r.quick ? "|quick" : ""}` : "";
function asker(model, type, stamp = () => null, most = 1) {
  let seq = 0, flights = [], wanted = null, asked = "", latest = 0, answer = null;
  function go() {
    flights = flights.filter((f) => performance.now() - f.at < LOST);
    if (!wanted || keyOf(wanted) === asked || flights.length >= most) return;
    asked = keyOf(wanted);
    const flight = { id: ++seq, at: performance.now(), inputAt: stamp(wanted) };
    flights.push(flight);
    const { run, step, guidance, paid, quick, local, recipe } = wanted;
    model.send({
      type,
      run,
      step,
      ...guidance == null ? {} : { guidance },
      ...paid ? { paid } : {},
      ...quick ? { quick } : {},
      ...local ? { local } : {},
      ...recipe ? { recipe } : {},
      id: flight.id
    });
  }
  return {
    want(request) {
      wanted = request;
      go();
    },
    // Whether `msg` is this kind's answer; an older answer than one taken already is dropped.
    receive(msg, buffers) {
      if (msg?.type !== type) return false;
      const flight = flights.find((f) => f.id === msg.id), inputAt = flight?.inputAt ?? null;
      if (inputAt) inputAt.trip = performance.now() - flight.at;
      flights = flights.filter((f) => f.id > msg.id);
      if (msg.id > latest) {
        latest = msg.id;
        answer = { msg, blobs: (buffers || []).map((b) => imageBlob(b)), inputAt, at: performance.now() };
      }
      go();
      return true;
    },
    // The newest answer if it is about run `run` at step `step`.
    answerFor: (want) => want && answer?.msg.run === want.run && answer.msg.step === want.step ? answer : null
  };
}

// src/recipe.js
function product(wt, rows, K, o, n, out, bias) {
  for (let q = 0; q < o; q += 4) {
    const w0 = q * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K, b = [0, 1, 2, 3].map((i) => bias[q + i] ?? 0);
    for (let i = 0; i < n; i += 2) {
      let a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3], e0 = a0, e1 = a1, e2 = a2, e3 = a3;
      for (let j = 0, u = i * K, v = u + K; j < K; j++) {
        const x = rows[u + j], z = rows[v + j], p0 = wt[w0 + j], p1 = wt[w1 + j], p2 = wt[w2 + j], p3 = wt[w3 + j];
        a0 += p0 * x;
        a1 += p1 * x;
        a2 += p2 * x;
        a3 += p3 * x;
        e0 += p0 * z;
        e1 += p1 * z;
        e2 += p2 * z;
        e3 += p3 * z;
      }
      const sums = [a0, a1, a2, a3, e0, e1, e2, e3];
      for (let r = 0; r < 4 && q + r < o; r++) {
        out[(q + r) * n + i] = sums[r];
        if (i + 1 < n) out[(q + r) * n + i + 1] = sums[r + 4];
      }
    }
  }
}
function conv(t, op) {
  const { c, h: ht, w, data } = t, [o, c2, k] = op.weight.shape, p = k >> 1, n = ht * w, K = c * k * k;
  if (c2 !== c) throw new Error(`a convolution of ${c2} channels given ${c}`);
  if (op.winograd) return winograd(t, op, o);
  const rows = new Float32Array((n + (n & 1)) * K), out = new Float32Array(o * n);
  for (let i = 0, j = 0; i < n; i++) {
    for (let ci = 0, y = Math.floor(i / w), x = i % w; ci < c; ci++) {
      for (let sy = y - p; sy <= y + p; sy++) {
        for (let sx = x - p; sx <= x + p; sx++, j++) {
          if (sy >= 0 && sy < ht && sx >= 0 && sx < w) rows[j] = data[(ci * ht + sy) * w + sx];
        }
      }
    }
  }
  product(op.padded, rows, K, o, n, out, op.bias.data);
  return { c: o, h: ht, w, data: out };
}
function bT(v, at2, s) {
  const a = v[at2], b = v[at2 + s], c = v[at2 + 2 * s], e = v[at2 + 3 * s];
  v[at2] = a - c;
  v[at2 + s] = b + c;
  v[at2 + 2 * s] = c - b;
  v[at2 + 3 * s] = b - e;
}
function aT(v, at2, s) {
  const a = v[at2], b = v[at2 + s], c = v[at2 + 2 * s], e = v[at2 + 3 * s];
  v[at2] = a + b + c;
  v[at2 + s] = b - c - e;
}
function gOf(v, at2, s) {
  const a = v[at2], b = v[at2 + s], c = v[at2 + 2 * s];
  v[at2 + s] = (a + b + c) / 2;
  v[at2 + 2 * s] = (a - b + c) / 2;
  v[at2 + 3 * s] = c;
}
function winograd(t, op, o) {
  const { c, h: ht, w, data } = t, th = ht + 1 >> 1, tw = w + 1 >> 1, n = th * tw, pairs = n + (n & 1);
  const tiles = new Float32Array(16 * pairs * c), sums = new Float32Array(16 * o * n), d = new Float64Array(16);
  for (let at2 = 0; at2 < c * n; at2++) {
    const ci = Math.floor(at2 / n), tile = at2 % n, y0 = 2 * Math.floor(tile / tw) - 1, x0 = 2 * (tile % tw) - 1;
    for (let i = 0; i < 16; i++) {
      const y = y0 + (i >> 2), x = x0 + (i & 3);
      d[i] = y >= 0 && y < ht && x >= 0 && x < w ? data[(ci * ht + y) * w + x] : 0;
    }
    for (let i = 0; i < 4; i++) bT(d, i, 4);
    for (let i = 0; i < 4; i++) bT(d, 4 * i, 1);
    for (let i = 0; i < 16; i++) tiles[(i * pairs + tile) * c + ci] = d[i];
  }
  const u = op.winograd, size2 = u.length / 16, sub = (a, i, len) => a.subarray(i * len, (i + 1) * len);
  for (let i = 0; i < 16; i++) product(sub(u, i, size2), sub(tiles, i, pairs * c), c, o, n, sub(sums, i, o * n), []);
  const out = new Float32Array(o * ht * w), bias = op.bias.data;
  for (let at2 = 0; at2 < o * n; at2++) {
    const q = Math.floor(at2 / n), tile = at2 % n, y = 2 * Math.floor(tile / tw), x = 2 * (tile % tw);
    for (let i = 0; i < 16; i++) d[i] = sums[(i * o + q) * n + tile];
    for (let i = 0; i < 4; i++) aT(d, i, 4);
    for (let i = 0; i < 2; i++) aT(d, 4 * i, 1);
    for (let i = 0, yy = y, xx = x; i < 4; i++, yy = y + (i >> 1), xx = x + (i & 1)) {
      if (yy < ht && xx < w) out[(q * ht + yy) * w + xx] = d[(i >> 1) * 4 + (i & 1)] + bias[q];
    }
  }
  return { c: o, h: ht, w, data: out };
}
function groupNorm(t, op) {
  const { c, h: ht, w, data } = t, per = c / op.groups * ht * w, out = new Float32Array(data.length);
  for (let g2 = 0; g2 < op.groups; g2++) {
    let mean = 0, spread = 0;
    for (let i = g2 * per; i < (g2 + 1) * per; i++) mean += data[i] / per;
    for (let i = g2 * per; i < (g2 + 1) * per; i++) spread += (data[i] - mean) ** 2;
    const scale = 1 / Math.sqrt(spread / per + op.eps);
    for (let i = g2 * per, ch; i < (g2 + 1) * per; i++) {
      ch = Math.floor(i / (ht * w));
      out[i] = (data[i] - mean) * scale * op.weight.data[ch] + op.bias.data[ch];
    }
  }
  return { ...t, data: out };
}
function shuffle(t, r) {
  const { c, h: ht, w, data } = t, C = c / (r * r), W3 = w * r, out = new Float32Array(data.length);
  for (let at2 = 0; at2 < data.length; at2++) {
    const ch = Math.floor(at2 / (ht * w)), y = Math.floor(at2 / w) % ht, x = at2 % w, i = Math.floor(ch / r) % r;
    out[Math.floor(ch / (r * r)) * ht * r * W3 + (y * r + i) * W3 + x * r + ch % r] = data[at2];
  }
  return { c: C, h: ht * r, w: W3, data: out };
}
function pool(t, maxSize) {
  const { c, h: ht, w, data } = t, s = Math.ceil(Math.max(ht, w) / maxSize), H3 = Math.ceil(ht / s);
  const W3 = Math.ceil(w / s), sums = new Float64Array(c * H3 * W3), counts = new Float64Array(c * H3 * W3);
  if (s <= 1) return t;
  for (let at2 = 0; at2 < data.length; at2++) {
    const ch = Math.floor(at2 / (ht * w)), y = Math.floor(at2 / w) % ht, cell = (ch * H3 + Math.floor(y / s)) * W3;
    sums[cell + Math.floor(at2 % w / s)] += data[at2];
    counts[cell + Math.floor(at2 % w / s)] += 1;
  }
  return { c, h: H3, w: W3, data: Float32Array.from(sums, (sum, i) => sum / counts[i]) };
}
function bytes(t, fromUnit) {
  const { h: ht, w, data } = t, n = ht * w, out = new Uint8Array(n * 3), f = Math.fround;
  for (let at2 = 0; at2 < 3 * n; at2++) {
    const v = fromUnit ? f(f(f(data[at2] + 1) * 127.5) + 0.5) : data[at2];
    out[at2 % n * 3 + Math.floor(at2 / n)] = Math.min(255, Math.max(0, v)) | 0;
  }
  return { h: ht, w, data: out };
}
var silu = (x) => x / (1 + Math.exp(-x));
function map(t, f, other) {
  const { data } = t, out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f(data[i], other?.[i]);
  return { ...t, data: out };
}
var OPS = {
  conv,
  group_norm: groupNorm,
  pixel_shuffle: (t, op) => shuffle(t, op.factor),
  silu: (t) => map(t, silu),
  clamp: (t, op) => map(t, (x) => Math.min(op.high, Math.max(op.low, x))),
  pool: (t, op) => pool(t, op.max_size),
  to_uint8: (t) => bytes(t, true),
  bytes: (t) => bytes(t, false),
  push: (t, op, kept) => (kept.push(t), t),
  add: (t, op, kept) => map(t, (v, u) => v + u, kept.pop().data)
};
function load(ops, buffers) {
  const tensor = (ref) => {
    const view = buffers[ref.buffer], n = ref.shape.reduce((a, b) => a * b, 1);
    if (!view || view.byteLength !== n * 4) throw new Error("a recipe tensor does not fit its shape");
    return { shape: ref.shape, data: new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + n * 4)) };
  };
  return ops.map((op) => {
    if (!Object.hasOwn(OPS, op.op)) throw new Error(`unknown recipe op ${op.op}`);
    const out = { ...op };
    for (const name of ["weight", "bias"]) if (op[name]) out[name] = tensor(op[name]);
    if (op.op === "conv") {
      const [o, c, k, k2] = out.weight.shape, rows = Math.ceil(o / 4) * 4, g2 = out.weight.data;
      if (k !== k2 || k % 2 !== 1 || out.bias?.data.length !== o) throw new Error("a convolution the page cannot run");
      out.padded = new Float32Array(rows * c * k * k);
      out.padded.set(g2);
      if (k === 3 && c >= 8) {
        out.winograd = new Float32Array(16 * rows * c);
        const f = new Float64Array(16);
        for (let i = 0; i < o * c; i++) {
          for (let j = 0; j < 9; j++) f[(j / 3 | 0) * 4 + j % 3] = g2[i * 9 + j];
          for (let j = 0; j < 3; j++) gOf(f, j, 4);
          for (let j = 0; j < 4; j++) gOf(f, 4 * j, 1);
          for (let j = 0; j < 16; j++) out.winograd[(j * rows + Math.floor(i / c)) * c + i % c] = f[j];
        }
      }
    }
    return out;
  });
}
function runRecipe(ops, x) {
  const kept = [];
  let t = x;
  for (const op of ops) t = OPS[op.op](t, op, kept);
  if (!(t.data instanceof Uint8Array)) throw new Error("a recipe ends in bytes");
  return t;
}

// src/local_lens.js
var at = (r) => `${r.run}|${r.step}`;
var fits = (r, want) => Boolean(r && want && at(r) === at(want) && Boolean(r.held) === Boolean(want.held));
function pixels({ data, h: ht, w }) {
  const image = new ImageData(w, ht), out = image.data;
  for (let s = 0, d = 0; s < data.length; s += 3, d += 4) {
    out[d] = data[s];
    out[d + 1] = data[s + 1];
    out[d + 2] = data[s + 2];
    out[d + 3] = 255;
  }
  return image;
}
var floats = (view) => new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
function localLens(ctx) {
  const stats = window.sdwidgetStats;
  stats.lensLocal ?? (stats.lensLocal = []);
  let record = null;
  let last = null;
  let recipe = null;
  const refused = /* @__PURE__ */ new Map();
  const forget = () => {
    [record, last] = [null, null];
    refused.clear();
    delete ctx.el.dataset.lensLocal;
  };
  const refuse = (r, why) => {
    [record, last] = [null, null];
    refused.set(at(r), why);
    ctx.el.dataset.lensLocal = `refused: ${why}`;
  };
  ctx.on("change:status", forget);
  ctx.on("change:run_id", forget);
  const covers = (want) => fits(record, want) && !want.paid && want.guidance <= record.high && (want.guidance >= record.low || record.flat_below);
  function draw(want) {
    const started = performance.now(), g2 = Math.max(want.guidance, record.low), { a, b, shape } = record;
    const x = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) x[i] = a[i] + g2 * b[i];
    const image = pixels(runRecipe(record.ops, { c: shape[0], h: shape[1], w: shape[2], data: x }));
    stats.lensLocal.push(performance.now() - started);
    const applied = !record.held && want.guidance === record.ran;
    const msg = {
      run: want.run,
      step: want.step,
      guidance: want.guidance,
      held: record.held,
      ran: record.ran,
      applied,
      picture: record.picture
    };
    return { msg, blobs: [], pixels: image, inputAt: null, at: performance.now() };
  }
  return {
    // The request for lens.js to send for `want`: none where the picture is drawn here; with
    // `local` while this run and step's affine part is neither here nor refused.
    ask(want) {
      if (!want?.quick || want.paid) return want;
      if (covers(want)) return null;
      return refused.has(at(want)) || fits(record, want) ? want : { ...want, local: true, recipe: recipe?.key };
    },
    // A moving slider's picture drawn here, as asker.js gives the kernel's ({ msg, blobs, inputAt },
    // with `pixels`, an ImageData, instead of blobs);
    // `stamp` times it from the slider's input. At rest the last one drawn here stays shown until
    // the kernel's answer (`kernel`) is newer.
    answer(want, stamp, kernel) {
      if (want?.quick && covers(want)) {
        const key = `${at(want)}|${Boolean(want.held)}|${want.guidance}`;
        try {
          if (last?.key !== key) last = { key, answer: { ...draw(want), inputAt: stamp(want) } };
          return last.answer;
        } catch (error) {
          refuse(record, error.message);
        }
      }
      const mine = !want?.paid && fits(last?.answer.msg, want) ? last.answer : null;
      return mine && !(kernel?.at > mine.at) ? mine : null;
    },
    // Whether `msg` is a lens_local message (taken, or its refusal kept).
    receive(msg, buffers) {
      if (msg?.type !== "lens_local") return false;
      try {
        if (msg.refused) throw new Error(msg.refused);
        const [a, b] = [floats(buffers[0]), floats(buffers[1])], n = msg.shape.reduce((p, q) => p * q, 1);
        if (a.length !== n || b.length !== n) throw new Error("the affine part does not fit its shape");
        if (msg.ops) recipe = { key: msg.recipe, ops: load(msg.ops, buffers) };
        if (recipe?.key !== msg.recipe) {
          [record, last, recipe] = [null, null, null];
          return true;
        }
        [record, last] = [{ ...msg, a, b, ops: recipe.ops }, null];
        ctx.el.dataset.lensLocal = at(msg);
      } catch (error) {
        refuse(msg, error.message);
      }
      return true;
    }
  };
}

// src/paid.js
var calls = (n) => n === 1 ? "one model call" : `${n} model calls`;
function paidPreview(ctx, after, press) {
  const button = h(
    "button",
    {
      type: "button",
      hidden: true,
      "data-lm-suppress-shortcuts": "true",
      title: "This model takes guidance as an input: its preview at another value costs the step's model call"
    },
    "Preview"
  );
  after.after(button);
  ctx.listen(button, "click", () => {
    button.hidden = true;
    press();
  });
  return {
    paint(offer, guidance) {
      if (button.hidden !== !offer) button.hidden = !offer;
      if (offer) setText(button, `Preview at ${Number(guidance).toFixed(1)} (${calls(offer)})`);
    }
  };
}

// src/views.js
var SIDE = 72;
var NAMES = [["unconditional", "Unconditional"], ["conditional", "Conditional"], ["guided", "Guided"]];
function stepViews(ctx, ask, toggleAfter, boxAfter) {
  const { model, el } = ctx;
  const toggle = h("button", {
    type: "button",
    "aria-pressed": "false",
    "data-lm-suppress-shortcuts": "true",
    title: "Show the shown step's unconditional, conditional and guided x0 estimates side by side"
  }, "Three views");
  const figures = NAMES.map(([name, label]) => {
    const img = h("img", {
      alt: `${label} x0 estimate`,
      draggable: "false",
      hidden: true,
      style: "width:100%;height:100%;object-fit:contain;display:block"
    });
    const empty = h("div", { class: "sdw-empty", style: "padding:4px;font-size:11px" });
    const caption = h("figcaption", { class: "sdw-caption", style: "font-size:11px" });
    const frame = h("div", { class: "sdw-frame", style: `width:${SIDE}px` }, img, empty);
    img.addEventListener("load", () => scaleRule(img, SIDE, SIDE));
    return { name, label, img, empty, caption, url: "", el: h("figure", { class: "sdw-figure" }, frame, caption) };
  });
  const why = h("div", { style: "font-size:12px;color:var(--sdw-muted);max-width:40ch" });
  const box = h("div", {
    class: "sdw-views",
    role: "group",
    "aria-label": "Three views of the shown step",
    hidden: true,
    style: "display:flex;flex-wrap:wrap;gap:4px 8px;align-items:flex-start"
  }, ...figures.map((f) => f.el), why);
  toggleAfter.after(toggle);
  boxAfter.after(box);
  let pressed = null;
  let painted = null;
  const on = () => pressed ?? Boolean(model.get("lens")?.views);
  function target(w) {
    if (!on() || !w || w.pos < 0) return null;
    if (w.key === ctx.live() && model.get("status") === "running" && w.pos === w.n - 1) return null;
    return { run: w.key, step: w.atFinal ? w.n - 1 : w.pos };
  }
  function paint() {
    box.hidden = !on();
    if (!on()) return;
    const w = ctx.preview.where(), want = target(w);
    ask.want(want);
    const answer = ask.answerFor(want);
    const waiting = !want && w?.pos >= 0 ? "The three views show when the run holds or ends, or for a step picked on the scrubber" : "";
    setText(why, answer?.msg.refused ? `No views: ${answer.msg.refused}` : waiting);
    el.dataset.views = answer && !answer.msg.refused ? String(answer.msg.step + 1) : "";
    if (answer === painted) return;
    painted = answer;
    const blobs = new Map((answer?.msg.views || []).map((name, i) => [name, answer.blobs[i]]));
    const ran = answer ? runInfo(model, answer.msg.run)?.guidance?.[answer.msg.step] : null;
    for (const f of figures) {
      const blob = blobs.get(f.name);
      f.el.hidden = Boolean(answer?.msg.refused) || !answer;
      if (f.url) URL.revokeObjectURL(f.url);
      f.url = blob ? URL.createObjectURL(blob) : "";
      f.img.hidden = !blob;
      if (blob) f.img.src = f.url;
      f.empty.hidden = Boolean(blob);
      setText(f.empty, "not computed (CFG off)");
      setText(f.caption, f.name === "guided" && ran != null ? `guided at ${Number(ran).toFixed(1)}` : f.name);
    }
  }
  function show() {
    toggle.setAttribute("aria-pressed", String(on()));
  }
  ctx.listen(toggle, "click", () => {
    pressed = !on();
    model.send({ type: "lens_mode", views: pressed });
    ctx.update();
  });
  ctx.on("change:lens", () => pressed = null);
  return {
    paint,
    show,
    receive: ask.receive,
    close: () => figures.forEach((f) => f.url && URL.revokeObjectURL(f.url))
  };
}

// src/lens.js
var REST = 250;
var BRANCHABLE = ["finished", "stopped", "paused"];
var fix = (g2) => Number(g2).toFixed(1);
var PICTURES = { quick: " \xB7 quick preview", decoded: " \xB7 VAE decode" };
function guidanceLens(ctx) {
  const { model, ui, el, store } = ctx;
  const stats = window.sdwidgetStats;
  stats.lens ?? (stats.lens = []);
  stats.lensRest ?? (stats.lensRest = []);
  stats.lensTrip ?? (stats.lensTrip = []);
  let inputAt = 0, stamped = 0, restAt = 0, rested = 0, moving = false, restTimer = null;
  const stamp = (r) => (r?.quick ? inputAt > stamped && { at: stamped = inputAt, into: stats.lens } : restAt > rested && { at: rested = restAt, into: stats.lensRest }) || null;
  const lens = asker(model, "lens", stamp, 2), local = localLens(ctx);
  const whatIf = h("button", {
    type: "button",
    "aria-pressed": "false",
    "data-lm-suppress-shortcuts": "true",
    title: "Show the shown step at the Guidance slider's value, without applying it"
  }, "What if");
  const branchWith = h(
    "button",
    {
      type: "button",
      hidden: true,
      "data-lm-suppress-shortcuts": "true",
      "data-title": "Continue the shown run from the shown step at the slider's guidance: the What if made real"
    },
    "Branch with this"
  );
  const note = h("div", {
    class: "sdw-lens-note",
    "aria-live": "polite",
    hidden: true,
    style: "font-size:12px;border-left:3px solid var(--sdw-line);padding-left:6px;overflow-wrap:anywhere"
  });
  ui.next.parentElement.after(h("div", { class: "sdw-row sdw-buttons" }, whatIf, branchWith));
  ui.main.el.parentElement.after(note);
  const frameBox = ui.main.img.parentElement;
  const badge = h("span", { "aria-hidden": "true", hidden: true, style: "position:absolute;top:6px;left:6px;padding:1px 6px;font-size:11px;border:1px dashed var(--sdw-fg);color:var(--sdw-fg);background:var(--jp-layout-color1, Canvas)" }, "not applied");
  frameBox.append(badge);
  let moved = null;
  let pressed = null;
  let now = { kind: "", refused: "" };
  let measuring = null;
  let paidFor = "";
  const mode = () => model.get("lens") || {};
  const on = () => pressed ?? Boolean(mode().what_if);
  const held = (w) => w.key === ctx.live() && model.get("status") === "paused" && !w.atFinal && w.n > 0 && w.pos === w.n - 1 && w.n === model.get("step");
  function target(w) {
    if (!w || w.pos < 0 || ctx.knobs.selected().index !== 0) return null;
    const g2 = Number(ui.guidance.value), kept = mode().held, quick = moving;
    if (held(w) && moved?.run === w.key && moved.step === w.n) {
      const coming = { run: w.key, step: w.n, guidance: g2, held: true };
      return keyOf(coming) === paidFor ? { ...coming, paid: true } : { ...coming, quick };
    }
    if (held(w) && kept?.run === w.key && kept.step === w.n) return { ...kept, held: true };
    const following = w.key === ctx.live() && model.get("status") === "running" && w.pos === w.n - 1;
    if (!on() || w.key <= 0 || following) return null;
    const want = { run: w.key, step: w.atFinal ? w.n - 1 : w.pos, guidance: g2 };
    return keyOf(want) === paidFor ? { ...want, paid: true } : { ...want, quick };
  }
  function caption(msg) {
    const info = runInfo(model, msg.run), total = store.get(msg.run)[0]?.total || info?.steps || msg.step + 1;
    const at2 = `${info?.name || `#${msg.run}`} \xB7 step ${msg.step + 1} / ${total}`, said = PICTURES[msg.picture] || "";
    if (msg.held) return `${at2} \xB7 preview at ${fix(msg.guidance)} \u2014 not applied yet${said}`;
    return msg.applied ? `${at2} \xB7 at ${fix(msg.guidance)} \u2014 as it ran${said}` : `${at2} \xB7 what if ${fix(msg.guidance)} \u2014 not applied (ran at ${fix(msg.ran)})${said}`;
  }
  function over(w) {
    const want = target(w);
    lens.want(local.ask(want));
    const answer = local.answer(want, stamp, lens.answerFor(want)) || lens.answerFor(want);
    now = { kind: "", refused: answer?.msg.refused || "", offer: answer?.msg.offer || 0, guidance: want?.guidance };
    if (!answer?.blobs.length && !answer?.pixels) return null;
    now.kind = answer.msg.held ? "held" : "what-if";
    now.applied = !answer.msg.held && answer.msg.applied;
    now.picture = answer.msg.picture || "";
    if (answer.inputAt) {
      measuring = answer.inputAt;
      answer.inputAt = null;
    }
    return { blob: answer.blobs[0], pixels: answer.pixels, caption: caption(answer.msg) };
  }
  function paint() {
    const outline = now.kind ? "2px dashed var(--sdw-fg)" : "";
    if (frameBox.style.outline !== outline) Object.assign(frameBox.style, { outline, outlineOffset: "-2px" });
    badge.hidden = !now.kind || now.applied;
    if (el.dataset.lens !== now.kind) el.dataset.lens = now.kind;
    if (el.dataset.lensPicture !== (now.picture || "")) el.dataset.lensPicture = now.picture || "";
    const w = ctx.preview.where();
    const why = now.refused || (on() && w?.key < 0 ? "What if: a loaded gallery keeps no model outputs" : "");
    setText(note, why ? `No preview: ${why}` : "");
    note.hidden = !why;
    paid.paint(now.offer, now.guidance);
  }
  function show() {
    whatIf.setAttribute("aria-pressed", String(on()));
    branchWith.hidden = !on();
    const key = ctx.shown(), info = runInfo(model, key), w = ctx.preview.where();
    enable(
      branchWith,
      key > 0 && BRANCHABLE.includes(info?.status) && w?.key === key && w.pos >= 0,
      key < 0 ? "A loaded gallery cannot be continued" : "Only a finished, stopped or paused run can be branched"
    );
  }
  ctx.listen(whatIf, "click", () => {
    pressed = !on();
    model.send({ type: "lens_mode", what_if: pressed });
    ctx.update();
  });
  ctx.listen(branchWith, "click", () => {
    const want = target(ctx.preview.where());
    if (branchWith.getAttribute("aria-disabled") === "true" || !want || want.held) return;
    ctx.say("");
    ctx.busy(branchWith);
    ctx.curve.branched();
    ctx.history.view(0);
    model.send({ type: "branch", run: want.run, step: want.step, guidance: want.guidance });
  });
  ctx.listen(ui.guidance, "input", () => {
    inputAt = performance.now();
    moving = true;
    clearTimeout(restTimer);
    restTimer = setTimeout(() => {
      [moving, restAt] = [false, performance.now()];
      ctx.schedule();
    }, REST);
    const w = ctx.preview.where();
    if (w && held(w) && ctx.knobs.selected().index === 0) moved = { run: w.key, step: w.n };
    const want = target(w), asked = local.ask(want);
    lens.want(asked);
    if (want && !asked) ctx.paint();
    else ctx.schedule();
  });
  const painted = () => {
    const timed = measuring;
    measuring = null;
    if (timed) {
      requestAnimationFrame(() => timed.into.push(performance.now() - timed.at));
      if (timed.trip != null && timed.into === stats.lens) stats.lensTrip.push(timed.trip);
    }
  };
  ctx.listen(ui.main.img, "load", painted);
  ctx.listen(ui.main.canvas, "load", painted);
  const paid = paidPreview(ctx, note, () => {
    const want = target(ctx.preview.where());
    paidFor = want ? keyOf({ ...want, paid: false, quick: false }) : "";
    ctx.schedule();
  });
  const views = stepViews(ctx, asker(model, "views"), branchWith, note);
  const effect = effectTrace(ctx);
  ctx.on("msg:custom", (msg, buffers) => {
    if (lens.receive(msg, buffers) || local.receive(msg, buffers)) ctx.paint();
    else if (views.receive(msg, buffers)) ctx.schedule();
  });
  ctx.on("change:lens", () => {
    pressed = null;
    ctx.update();
  });
  ctx.on("change:effects", ctx.schedule);
  ctx.paints.push(paint, views.paint, effect.paint);
  ctx.statuses.push(show, views.show);
  return {
    over,
    close() {
      clearTimeout(restTimer);
      views.close();
      effect.close();
    }
  };
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
    bottom: h("span", { class: "sdw-axis" }, "0"),
    title: h("span", {}, "Guidance per step"),
    cfg: h("span", { class: "sdw-cfg-label", "aria-hidden": "true" }, "1.0 \xB7 CFG off below"),
    readout: h("span", { class: "sdw-readout" }),
    legend: h("div", { class: "sdw-legend", hidden: true }),
    // The other knobs' thin lines in words (chart.js), beside the runs' legend.
    knobs: h("div", {
      class: "sdw-knob-legend",
      hidden: true,
      style: "display:flex;flex-wrap:wrap;align-items:center;gap:2px 0;font-size:12px;margin-top:2px"
    })
  };
  parts.el = h(
    "figure",
    { class: "sdw-curve" },
    h("figcaption", { class: "sdw-curve-head" }, parts.title, parts.readout),
    h(
      "div",
      { class: "sdw-curve-body" },
      h("div", { class: "sdw-axis-col", "aria-hidden": "true" }, parts.top, parts.bottom),
      h("div", { class: "sdw-plot-box" }, svg)
    ),
    // Under the plot, where no curve crosses it: what the dashed 1.0 line means.
    h("div", { class: "sdw-curve-foot" }, parts.cfg),
    parts.legend,
    parts.knobs
  );
  return parts;
}
var PACES = [[0, "Full speed"], [10, "10 steps/s"], [4, "4 steps/s"], [1, "1 step/s"]];
function controls() {
  const main = figure("Live preview", "No image yet: type a prompt and press Generate. Each step's preview shows here.");
  const other = figure("Compared preview", "");
  const knob = h("select", { "aria-label": "Knob", style: "width:auto" });
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
    // Which of the model's knobs the slider, its value, the arrow keys and the curve edit act on
    // (knobs.js); shown where the model has more than one. The slider's name is the knob's.
    knob,
    knobPick: h("label", { class: "sdw-row sdw-pace", hidden: true }, h("span", {}, "Knob"), knob),
    knobName: h("span", { "aria-hidden": "true" }, "Guidance"),
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
    ui.knob,
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
        h(
          "div",
          { class: "sdw-row", style: "justify-content:space-between;flex-wrap:wrap;gap:2px 8px" },
          ui.knobName,
          ui.knobPick
        ),
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

// src/preview.js
var g = (frame) => frame ? `guidance ${Number(frame.guidance).toFixed(1)}` : "";
function previewPane(ctx) {
  const { model, ui, el, store } = ctx;
  const { main, other, scrub, stepLabel } = ui;
  const stats = window.sdwidgetStats;
  let where = null;
  let pinned = false;
  let decoded = null;
  const urls = /* @__PURE__ */ new Map();
  const blobs = /* @__PURE__ */ new Map();
  const box = { width: 0, height: 0 };
  const canvas = main.canvas = h("canvas", {
    class: "sdw-image",
    "aria-hidden": "true",
    hidden: true,
    style: "position:absolute;inset:0"
  });
  main.img.after(canvas);
  let drawn = null;
  const pixelRule = () => {
    const scale = Math.min(box.width / canvas.width, box.height / canvas.height);
    canvas.style.imageRendering = scale >= 2 ? "pixelated" : "";
  };
  function draw(pixels2) {
    canvas.hidden = !pixels2;
    if (!pixels2 || pixels2 === drawn) return;
    drawn = pixels2;
    if (canvas.width !== pixels2.width || canvas.height !== pixels2.height) {
      [canvas.width, canvas.height] = [pixels2.width, pixels2.height];
      pixelRule();
    }
    canvas.getContext("2d").putImageData(pixels2, 0, 0);
    canvas.dispatchEvent(new Event("load"));
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
  function blank(fig, message) {
    fig.empty.textContent = message;
    fig.empty.hidden = false;
    if (fig.img.hidden) return;
    fig.img.hidden = true;
    fig.img.removeAttribute("src");
    blobs.delete(fig.img);
    if (urls.has(fig.img)) URL.revokeObjectURL(urls.get(fig.img));
    urls.delete(fig.img);
  }
  function emptyText(key, info) {
    if (!key) return model.get("has_model") ? "No image yet: type a prompt and press Generate. Each step's preview shows here." : "No model attached: galleries added from Python show here.";
    if (info?.status === "failed") return `${info.name} failed before its first step.`;
    return key === ctx.live() ? `${info?.name || "The run"}: waiting for its first step\u2026` : `Loading ${info?.name || "the run"}\u2026`;
  }
  function at2(key, pos, info, final) {
    const frames = store.get(key), n = store.count(key), fin = store.final(key);
    const name = info?.name || `#${key}`;
    if (final && fin) return { blob: fin, caption: [name, "final image", g(frames[n - 1])].filter(Boolean).join(" \xB7 ") };
    if (!n) return null;
    const i = Math.min(pos, n - 1), frame = frames[i];
    const note = final ? " (last step)" : i >= pos ? "" : ["stopped", "failed"].includes(info?.status) ? ` (${info.status} here)` : " (last step)";
    return { blob: frame.blob, caption: `${name} \xB7 step ${i + 1} / ${frame.total}${note} \xB7 ${g(frame)}`, index: i };
  }
  function paint() {
    const key = ctx.shown(), frames = store.get(key), n = store.count(key), fin = store.final(key);
    const info = runInfo(model, key);
    const positions = n + (fin ? 1 : 0);
    const cmp = ctx.compareKey(), cmpInfo = cmp ? runInfo(model, cmp) : null;
    other.el.hidden = !cmp;
    const columns = cmp ? "2" : "1";
    if (el.style.getPropertyValue("--sdw-n") !== columns) el.style.setProperty("--sdw-n", columns);
    el.dataset.shownRun = String(key);
    if (!positions) {
      draw(null);
      blank(main, emptyText(key, info));
      setText(main.caption, "");
      Object.assign(scrub, { max: 1, value: 1, disabled: true });
      setText(stepLabel, "");
      where = { key, pos: -1, n: 0, atFinal: false };
      el.dataset.shownStep = "";
      return;
    }
    scrub.disabled = false;
    scrub.max = positions;
    const pos = pinned ? Math.min(Number(scrub.value) - 1, positions - 1) : positions - 1;
    scrub.value = pos + 1;
    const atFinal = Boolean(fin) && pos === n;
    const mine = at2(key, pos, info, atFinal);
    where = { key, pos, n, atFinal };
    const exact = decoded && decoded.run === key && decoded.step === pos && !atFinal;
    const lens = ctx.lens?.over(where);
    setText(main.caption, lens ? lens.caption : exact ? `${info?.name || `#${key}`} \xB7 step ${pos + 1}, exact (VAE) \xB7 ${g(frames[pos])}` : mine.caption);
    draw(lens?.pixels);
    if (!lens?.pixels) put(main.img, lens ? lens.blob : exact ? decoded.blob : mine.blob);
    el.dataset.decoded = exact ? String(pos + 1) : "";
    const total = frames[0]?.total || info?.steps || 1;
    setText(stepLabel, atFinal ? "final image" : `step ${pos + 1} / ${total}`);
    scrub.setAttribute("aria-valuetext", atFinal ? "final image" : `step ${pos + 1} of ${total}`);
    if (cmp) {
      const cn = store.count(cmp), ctotal = store.get(cmp)[0]?.total || 0;
      const theirs = at2(cmp, atFinal ? cn : align(pos, total, ctotal), cmpInfo, atFinal);
      if (theirs) {
        put(other.img, theirs.blob);
        setText(other.caption, theirs.caption);
        el.dataset.compareStep = theirs.index == null ? "final" : String(theirs.index + 1);
      } else {
        blank(other, `Loading ${cmpInfo?.name || "the run"}\u2026`);
        setText(other.caption, "");
      }
    }
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
    el.dataset.paints = String(stats.paints);
  }
  function pickStep(i) {
    const following = ctx.shown() === ctx.live() && ctx.running();
    pinned = !(following && i === store.count(ctx.shown()) - 1);
    if (decoded && decoded.step !== i) decoded = null;
    scrub.value = i + 1;
    ctx.schedule();
  }
  const custom = (msg, buffers) => {
    if (msg?.type !== "decoded" || !buffers?.length) return;
    decoded = { run: msg.run, step: msg.step, blob: new Blob([buffers[0]], { type: "image/png" }) };
    ctx.settle();
    ctx.schedule();
  };
  ctx.on("msg:custom", custom);
  ctx.on("change:run_id", () => ctx.viewKey || (pinned = false));
  ctx.listen(scrub, "input", () => pickStep(Number(scrub.value) - 1));
  for (const fig of [main, other]) {
    ctx.listen(fig.img, "load", () => {
      if (!fig.empty.hidden) fig.empty.hidden = true;
      scaleRule(fig.img, box.width, box.height);
    });
  }
  const resized = new ResizeObserver(([entry]) => {
    ({ width: box.width, height: box.height } = entry.contentRect);
    [main.img, other.img].forEach((img) => scaleRule(img, box.width, box.height));
    pixelRule();
  });
  resized.observe(main.img.parentElement);
  ctx.paints.push(paint);
  return {
    pickStep,
    where: () => where,
    reset() {
      pinned = false;
      decoded = null;
    },
    close() {
      resized.disconnect();
      urls.forEach((url) => URL.revokeObjectURL(url));
    }
  };
}

// src/steering.js
var TYPED = ["TEXTAREA", "INPUT", "SELECT"];
var BRANCHABLE2 = ["finished", "stopped", "paused"];
function steeringBar(ctx) {
  const { model, ui, el, store } = ctx;
  const { pause, stop, next, pace, breakpoints, breakList, clearHolds, branch, decode } = ui;
  let breakMode = false;
  let holdsShown = null;
  function toggleBreak(step) {
    const set = new Set(model.get("breakpoints") || []);
    if (set.has(step)) set.delete(step);
    else set.add(step);
    model.send({ type: "breakpoints", steps: [...set].sort((a, b) => a - b) });
  }
  function showHolds(holds, running) {
    const hint = holds.length || !breakMode ? "" : running ? "Holds are set for the next run, once this one ends" : "Click the curve or a frame to hold there";
    clearHolds.hidden = holds.length < 2;
    const key = `${holds.join(",")}|${hint}`;
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
  function show() {
    const key = ctx.shown(), info = runInfo(model, key), state = model.get("status"), running = ctx.running();
    const label = state === "paused" ? "Resume" : "Pause";
    if (pause.textContent !== label) pause.textContent = label;
    pause.setAttribute("aria-label", label);
    enable(pause, running, "No run is going");
    enable(stop, running, "No run is going");
    enable(next, state === "paused", "Only while the current run is paused");
    const shown = store.count(key) > 0;
    enable(branch, key > 0 && Boolean(info) && BRANCHABLE2.includes(info.status) && shown, key < 0 ? "A loaded gallery cannot be continued" : !shown ? "No step shown yet" : "Only a finished, stopped or paused run can be branched");
    enable(decode, key > 0 && shown, key < 0 ? "A loaded gallery's latents were not kept" : "No step shown yet");
    const pacing = String(model.get("pace") || 0);
    if (![...pace.options].some((o) => o.value === pacing)) pace.append(h("option", { value: pacing }, `${pacing} steps/s`));
    if (pace.value !== pacing) pace.value = pacing;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    el.classList.toggle("sdw-breakmode", breakMode && !running);
    showHolds(model.get("breakpoints") || [], running);
  }
  const disabled = (button) => button.getAttribute("aria-disabled") === "true";
  const act = (button, send, waits = true) => ctx.listen(button, "click", () => {
    if (disabled(button)) return;
    ctx.say("");
    if (waits) ctx.busy(button);
    send();
  });
  act(pause, () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  act(stop, () => model.send({ type: "stop" }));
  act(next, () => model.send({ type: "step" }));
  act(clearHolds, () => model.send({ type: "breakpoints", steps: [] }), false);
  act(branch, () => {
    const key = ctx.shown(), info = runInfo(model, key), where = ctx.preview.where();
    if (!where || where.key !== key) return;
    const message = {
      type: "branch",
      run: key,
      step: where.atFinal ? where.n : where.pos + 1,
      guidance: ctx.knobs.asked(0)
    };
    const knobs = ctx.knobs.laterAsked();
    if (Object.keys(knobs).length) message.knobs = knobs;
    if (ui.prompt.value !== (info.prompt ?? "")) message.prompt = ui.prompt.value;
    if (ui.negative.value !== (info.negative_prompt ?? "")) message.negative_prompt = ui.negative.value;
    ctx.curve.branched();
    ctx.history.view(0);
    model.send(message);
  });
  act(decode, () => {
    const where = ctx.preview.where();
    if (!where || where.key !== ctx.shown()) return;
    const step = where.atFinal ? where.n - 1 : where.pos;
    if (where.atFinal) ctx.preview.pickStep(step);
    model.send({ type: "decode", run: where.key, step });
  });
  ctx.listen(breakpoints, "click", () => {
    breakMode = !breakMode;
    breakpoints.setAttribute("aria-pressed", String(breakMode));
    ctx.curve.reset();
    ctx.update();
  });
  ctx.listen(pace, "change", () => {
    const value = Number(pace.value);
    model.send({ type: "pace", value: value > 0 ? value : null });
  });
  ctx.listen(el, "keydown", (event) => {
    if (event.key !== "n" || event.ctrlKey || event.metaKey || event.altKey || TYPED.includes(event.target.tagName)) return;
    event.preventDefault();
    next.click();
  });
  ctx.statuses.push(show);
  return {
    breakMode: () => breakMode,
    toggleBreak,
    leaveBreakMode: () => breakMode = false
  };
}

// src/strip.js
function filmstrip(ctx) {
  const { store } = ctx;
  const strip = new Filmstrip((i, event) => event && ctx.steering.breakMode() && !ctx.running() && i < strip.steps ? ctx.steering.toggleBreak(i + 1) : ctx.preview.pickStep(i));
  let stripKey = null;
  function paint() {
    const where = ctx.preview.where(), key = where.key;
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    if (where.pos < 0) return;
    const frames = store.get(key);
    const describe = (i) => `Step ${i + 1} of ${frames[i].total}, guidance ${Number(frames[i].guidance).toFixed(1)}`;
    strip.sync(frames, where.n, store.final(key), where.pos, describe);
  }
  const resized = new ResizeObserver(() => strip.mark(strip.current, true));
  resized.observe(strip.el);
  ctx.paints.push(paint);
  return {
    el: strip.el,
    close() {
      resized.disconnect();
      strip.clear();
    }
  };
}

// src/sweep.js
var fmt3 = (g2) => Number(g2).toFixed(1);
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
  const W3 = 120, H3 = 28, top = Math.max(10, ...values);
  const x = (i) => values.length > 1 ? i / (values.length - 1) * W3 : W3 / 2;
  const points = values.map((g2, i) => `${x(i).toFixed(1)},${(H3 - g2 / top * H3).toFixed(1)}`).join(" ");
  const label = values.length ? `Guidance per step: ${values.map(fmt3).join(", ")}` : "Guidance per step: none";
  const svg = svgNode("svg", {
    viewBox: `0 0 ${W3} ${H3}`,
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
  "knobs",
  "knob_values",
  "knob_applied"
];
var ANSWERS = ["status", "step", "run_id", "message", "saving", "saved"];
var ACTIVE2 = ["running", "paused"];
function keepKeys(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (["Escape", "Tab"].includes(event.key) || event.key === "Enter" && event.shiftKey) return;
  event.stopPropagation();
}
function context(model, el, ui, store, need) {
  let scheduled = 0, stale = true, busyTimer = 0;
  const paints = [], statuses = [], offs = [];
  const ctx = {
    model,
    el,
    ui,
    store,
    need,
    viewKey: 0,
    local: "",
    live: () => model.get("run_id"),
    shown: () => ctx.viewKey || ctx.live(),
    running: () => ACTIVE2.includes(model.get("status")),
    compareKey: () => Number(ui.compare.value),
    paints,
    statuses,
    offs,
    on(event, handler) {
      model.on(event, handler);
      offs.push(() => model.off(event, handler));
    },
    listen(node, event, handler) {
      node.addEventListener(event, handler);
      offs.push(() => node.removeEventListener(event, handler));
    },
    schedule() {
      if (!scheduled) scheduled = requestAnimationFrame(ctx.paint);
    },
    update() {
      stale = true;
      ctx.schedule();
    },
    paint() {
      const started = performance.now();
      scheduled = 0;
      if (stale) {
        stale = false;
        statuses.forEach((show) => show());
      }
      paints.forEach((draw) => draw());
      window.sdwidgetStats?.paintMs?.push(performance.now() - started);
    },
    // A refusal of the form's own checks, shown until the next action; "" clears it.
    say(text) {
      ctx.local = text;
      ctx.showMessage?.();
    },
    // Actions that wait for the kernel show pressed at once (aria-busy), until a trait answers
    // them (or, at the latest, a few seconds later).
    busy(button) {
      button.setAttribute("aria-busy", "true");
      clearTimeout(busyTimer);
      busyTimer = setTimeout(ctx.settle, 5e3);
    },
    settle() {
      el.querySelectorAll("button[aria-busy]").forEach((b) => b.removeAttribute("aria-busy"));
    },
    close() {
      offs.forEach((off) => off());
      clearTimeout(busyTimer);
      if (scheduled) cancelAnimationFrame(scheduled);
      scheduled = -1;
    }
  };
  return ctx;
}
function render({ model, el }) {
  const ownInit = stateOf(model) ? null : initialize({ model });
  const { store, need, watch } = stateOf(model);
  const ui = controls();
  window.sdwidgetStats ?? (window.sdwidgetStats = { latencies: [], arrivals: [], waits: [], paintMs: [], paints: 0 });
  const ctx = context(model, el, ui, store, need);
  ctx.status = statusLines(ctx);
  ctx.history = historyBar(ctx);
  ctx.knobs = knobControl(ctx);
  ctx.preview = previewPane(ctx);
  ctx.strip = filmstrip(ctx);
  ctx.curve = guidanceCurve(ctx);
  ctx.steering = steeringBar(ctx);
  ctx.compose = composer(ctx);
  ctx.offs.push(watch((key) => key === ctx.shown() ? ctx.update() : key === ctx.compareKey() && ctx.schedule()));
  for (const name of STATUS_TRAITS) ctx.on(`change:${name}`, ctx.update);
  for (const name of ANSWERS) ctx.on(`change:${name}`, ctx.settle);
  ctx.listen(el, "keydown", keepKeys);
  ctx.history.view(model.get("view"));
  layout(el, ui, ctx.strip.el);
  guiderSelect(ctx);
  ctx.lens = guidanceLens(ctx);
  const sweep = sweepPanel(model, () => ctx.history.view(0));
  el.append(sweep.el);
  const fitted = hostFit(ctx);
  return () => {
    fitted.close();
    sweep.close();
    ctx.close();
    ctx.preview.close();
    ctx.lens.close();
    ctx.strip.close();
    ownInit?.();
  };
}

// src/index.js
var index_default = { initialize, render };
export {
  index_default as default
};
