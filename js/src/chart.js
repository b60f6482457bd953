// The chart of a run's knobs per step (panel.js builds `curve`: an svg, axis labels, a title, a
// readout, the runs' legend and the knobs' legend): the selected knob's curve drawn strong on its own
// axis, the shown run's other knobs thin, each across its own range, and named in words below.
// It touches `document` only when called, so importing it works without a DOM (tests in node).

import { h, svgNode } from "./dom.js";

// The plot's coordinate space; the svg stretches it to its box (lines keep their width).
const W = 300, H = 60, PAD = 3;
// The other knobs' thin lines, solid then dotted, never dashed like the CFG line or a compared run.
const DASHES = ["none", "1 2", "1 4"];
const THIN = "fill:none;stroke:var(--sdw-fg);stroke-opacity:0.55;stroke-width:1.25";
const SAMPLE = "display:inline-block;width:18px;height:0;margin:0 4px 0 6px;vertical-align:middle;"
  + "border-top:1.5px solid var(--sdw-fg);opacity:0.55";

// The top of the guidance axis: 10, or the next multiple of 5 above the largest value drawn.
export function axisTop(series) {
  return Math.max(10, Math.ceil(Math.max(0, ...series.flat()) / 5) * 5);
}

// Step `pos` (0-based) of a run of `total` steps, as far along a run of `other` steps: the same
// step when both have as many. Runs of different lengths are compared at the same point of their
// schedules (step 10 of 30 beside step 20 of 60), in the previews and on the curve alike.
export function align(pos, total, other) {
  return other === total || !total ? pos : Math.max(0, Math.round(((pos + 1) / total) * other) - 1);
}

// Where step `i` (0-based, fractional between steps) of a run of `n` steps sits across the plot, from 0 to 1.
export const stepX = (i, n) => (n > 1 ? (i / (n - 1)) * (W - 2 * PAD) + PAD : W / 2) / W;

export const roundTo = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;
const fmt = (g, digits = 1) => (g == null ? "–" : Number(g).toFixed(digits));
const tick = (v) => String(roundTo(v, 2));

// `series`: [{ values, total, name, role }] — the shown run's values of the selected knob first
// (solid), a compared run's (or the parent's) second (dashed, drawn beneath, each run across the
// whole width: compared at the same point of their schedules); `current`: the shown run's step
// marked and read out, -1 for none. `extra`: { scale: the selected knob's { label, low, top, digits }
// (top null: the guidance's axis, 10 or more), plan: Map(0-based step → planned value) drawn dashed
// over the steps not yet run, breaks: 1-based step counts at which the run holds (ticks along the
// top), switch: the value at and below which the knob turns CFG off (1.0 by default; false where it
// has no such switch: no line, no "CFG on/off"), interval: [first, end) the 0-based steps where guidance
// applies (shaded; null: every step), others:
// the shown run's other knobs [{ label, values, low, high, digits }] }.
export function sparkline(curve, series, current, extra = {}) {
  const plan = extra.plan || new Map(), breaks = extra.breaks || [], cfgSwitch = extra.switch !== false;
  const interval = extra.interval || null;
  const offAt = typeof extra.switch === "number" ? extra.switch : 1; // where the knob turns CFG off
  const scale = extra.scale || { label: "Guidance", low: 0, top: null, digits: 1 }, others = extra.others || [];
  const low = scale.low || 0, digits = scale.digits ?? 1;
  const top = scale.top ?? axisTop([...series.map((s) => s.values), [...plan.values()]]);
  const span = (s) => Math.max(s.total || 0, s.values.length, 1);
  const x = (i, s) => (span(s) > 1 ? (i / (span(s) - 1)) * (W - 2 * PAD) + PAD : W / 2);
  const within = (g, lo, hi) => H - PAD - ((Math.min(Math.max(g, lo), hi) - lo) / (hi - lo || 1)) * (H - 2 * PAD);
  const y = (g) => within(g, low, top);
  const points = (values, s, at = y) => values.map((g, k) => `${x(k, s).toFixed(1)},${at(g).toFixed(1)}`).join(" ");
  const key = `${scale.label}|${low}|${top}|${series.map((s) => `${s.name}:${s.role}:${span(s)}:${s.values.length}:${s.values.at(-1)}`).join("|")}`
    + `|${[...plan].join(";")}|${breaks.join(",")}|${cfgSwitch}|${interval}|${others.map((o) => `${o.label}:${o.values.join(",")}`).join("|")}`;
  const [main, other] = series;
  if (curve.key !== key) {
    curve.key = key;
    const lines = series.map((s, i) => ({ s, i })).reverse().map(({ s, i }) => svgNode("polyline", {
      points: points(s.values, s), class: i ? "sdw-compare-line" : "sdw-main-line", "vector-effect": "non-scaling-stroke",
    }));
    const thin = main ? others.map((o, j) => svgNode("polyline", {
      points: points(o.values, main, (g) => within(g, o.low, o.high)), class: "sdw-knob-line",
      style: `${THIN};stroke-dasharray:${DASHES[j % DASHES.length]}`, "vector-effect": "non-scaling-stroke",
    })) : [];
    curve.marker = svgNode("line", { y1: 0, y2: H, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    const cfg = svgNode("line", { x1: 0, x2: W, y1: y(offAt), y2: y(offAt), class: "sdw-cfg-line",
      "vector-effect": "non-scaling-stroke" });
    const steps = [...plan.keys()].sort((a, b) => a - b);
    const planned = steps.length ? [svgNode("polyline", {
      points: steps.map((k) => `${x(k, main).toFixed(1)},${y(plan.get(k)).toFixed(1)}`).join(" "),
      class: "sdw-plan-line", "vector-effect": "non-scaling-stroke",
    })] : [];
    const ticks = main ? breaks.filter((b) => b >= 1 && b <= span(main)).map((b) =>
      svgNode("line", { x1: x(b - 1, main), x2: x(b - 1, main), y1: 0, y2: H, class: "sdw-break",
        "vector-effect": "non-scaling-stroke" })) : [];
    // The interval's steps shaded, from half a step before its first to half a step after its last.
    const n = main ? span(main) : 0, edge = (i) => stepX(Math.min(Math.max(i, 0), n - 1), n) * W;
    const shade = interval && n > 1 ? [svgNode("rect", { x: edge(interval[0] - 0.5), y: 0, height: H,
      width: Math.max(0, edge(interval[1] - 0.5) - edge(interval[0] - 0.5)), class: "sdw-interval",
      style: "fill:var(--sdw-accent);fill-opacity:0.13" })] : [];
    curve.svg.replaceChildren(...shade, ...(cfgSwitch ? [cfg] : []), ...ticks, ...thin, ...lines, ...planned, curve.marker);
    Object.assign(curve, { lowValue: low, topValue: top, digits });
    curve.top.textContent = tick(top);
    curve.bottom.textContent = tick(low);
    curve.title.textContent = `${scale.label} per step`;
    curve.cfg.hidden = !cfgSwitch;
    curve.cfg.textContent = `${fmt(offAt)} · CFG off below`;
    curve.legend.hidden = !other;
    if (other) {
      curve.legend.replaceChildren(
        h("span", { class: "sdw-key sdw-key-main" }), `${main.name} (shown)`,
        h("span", { class: "sdw-key sdw-key-compare" }), `${other.name} (${other.role || "compared"})`);
    }
    const values = main?.values || [];
    const said = others.filter((o) => o.values.length).map((o) =>
      `; ${o.label} ${fmt(o.values[0], o.digits)} at step 1, ${fmt(o.values.at(-1), o.digits)} at step ${o.values.length}`);
    const applies = interval ? `; guidance applies at steps ${interval[0] + 1} to ${interval[1]}` : "";
    curve.svg.setAttribute("aria-label", (values.length
      ? `${scale.label} per step of ${main.name}: ${fmt(values[0], digits)} at step 1, ${fmt(values.at(-1), digits)} at step ${values.length}${said.join("")}`
      : `${scale.label} per step: no steps yet`) + applies);
  }
  curve.n = main ? span(main) : 0;
  const values = main?.values || [];
  const at = Math.max(0, Math.min(current, values.length - 1));
  curve.marker.setAttribute("x1", x(at, main || { values }));
  curve.marker.setAttribute("x2", x(at, main || { values }));
  curve.marker.style.visibility = current >= 0 && values.length ? "visible" : "hidden";
  let text = "";
  if (current >= 0 && values.length) {
    text = `Step ${at + 1}: ${fmt(values[at], digits)}`;
    if (!other) {
      if (cfgSwitch) text += ` (CFG ${values[at] > offAt ? "on" : "off"})`;
    } else {
      const j = align(at, span(main), span(other));
      const theirs = j < other.values.length ? `step ${j + 1}: ${fmt(other.values[j], digits)}` : `ended at step ${other.values.length}`;
      text = `${main.name} ${text.toLowerCase()} · ${other.name} ${theirs}`;
    }
  }
  curve.readout.textContent = text;
  knobLegend(curve, others, current >= 0 && values.length ? at : -1);
}

// The thin lines in words: each other knob, its range, and its value at the marked step.
function knobLegend(curve, others, at) {
  const text = others.map((o) => `${o.label} ${tick(o.low)}–${tick(o.high)}`
    + (at >= 0 && at < o.values.length ? `: ${fmt(o.values[at], o.digits)} at step ${at + 1}` : "")).join("|");
  curve.knobs.hidden = !others.length;
  if (curve.knobs.dataset.text === text) return;
  curve.knobs.dataset.text = text;
  curve.knobs.replaceChildren(h("span", {}, "Thin:"), ...text.split("|").filter(Boolean).flatMap((words, j) => [
    h("span", { style: `${SAMPLE};border-top-style:${j % DASHES.length ? "dotted" : "solid"}`, "aria-hidden": "true" }),
    words]));
}

// The shown run's step under the pointer, for the readout while hovering (null outside the plot).
export function stepAt(curve, clientX) {
  const box = curve.svg.getBoundingClientRect();
  if (!box.width || !curve.n) return null;
  const fraction = ((clientX - box.left) / box.width) * W;
  return Math.max(0, Math.min(curve.n - 1, Math.round(((fraction - PAD) / (W - 2 * PAD)) * (curve.n - 1))));
}

// The selected knob's value at height `clientY` of the plot (the inverse of its axis), rounded to its step.
export function valueAt(curve, clientY) {
  const box = curve.svg.getBoundingClientRect();
  if (!box.height) return null;
  const yy = ((clientY - box.top) / box.height) * H;
  const low = curve.lowValue || 0, top = curve.topValue ?? 10;
  const g = low + ((H - PAD - yy) / (H - 2 * PAD)) * (top - low);
  return roundTo(Math.max(low, Math.min(top, g)), curve.digits ?? 1);
}
