// Small DOM helpers for the view: element builder and the guidance curve. They touch
// `document` only when called, so importing this module works without a DOM (tests in node).

// h("button", { class: "x", onclick: fn, hidden: true }, "text", child…): attributes whose value
// is false, null or undefined are left out, true sets an empty attribute.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svgNode(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  return node;
}

// The plot's coordinate space; the svg stretches it to its box (lines keep their width).
const W = 300, H = 60, PAD = 3;

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

const fmt = (g) => (g == null ? "–" : Number(g).toFixed(1));

// Guidance per step (panel.js builds `curve`: an svg, axis labels, a readout and a legend).
// `series`: [{ values, total, name }] — the shown run first (solid), a compared run second
// (dashed, drawn beneath, each run across the whole width: compared at the same point of their
// schedules); `current`: the shown run's step marked and read out, -1 for none.
// The 1.0 line is labelled: below it classifier-free guidance is off.
// `extra`: { plan: Map(0-based step → planned value) drawn dashed over the steps not yet run,
// breaks: 1-based step counts at which the run holds, drawn as ticks along the top, switch: false
// where the guidance has no CFG switch at 1.0 (Flux's distilled guidance): no line, no "CFG on/off" }.
export function sparkline(curve, series, current, extra = {}) {
  const plan = extra.plan || new Map(), breaks = extra.breaks || [], cfgSwitch = extra.switch !== false;
  const top = axisTop([...series.map((s) => s.values), [...plan.values()]]);
  const span = (s) => Math.max(s.total || 0, s.values.length, 1);
  const x = (i, s) => (span(s) > 1 ? (i / (span(s) - 1)) * (W - 2 * PAD) + PAD : W / 2);
  const y = (g) => H - PAD - (Math.min(g, top) / top) * (H - 2 * PAD);
  const key = `${top}|${series.map((s) => `${s.name}:${s.role}:${span(s)}:${s.values.length}:${s.values.at(-1)}`).join("|")}`
    + `|${[...plan].join(";")}|${breaks.join(",")}|${cfgSwitch}`;
  const [main, other] = series;
  if (curve.key !== key) {
    curve.key = key;
    const lines = series.map((s, i) => ({ s, i })).reverse().map(({ s, i }) =>
      svgNode("polyline", {
        points: s.values.map((g, k) => `${x(k, s).toFixed(1)},${y(g).toFixed(1)}`).join(" "),
        class: i ? "sdw-compare-line" : "sdw-main-line", "vector-effect": "non-scaling-stroke",
      }));
    curve.marker = svgNode("line", { y1: 0, y2: H, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    const cfg = svgNode("line", { x1: 0, x2: W, y1: y(1), y2: y(1), class: "sdw-cfg-line", "vector-effect": "non-scaling-stroke" });
    const steps = [...plan.keys()].sort((a, b) => a - b);
    const planned = steps.length ? [svgNode("polyline", {
      points: steps.map((k) => `${x(k, main).toFixed(1)},${y(plan.get(k)).toFixed(1)}`).join(" "),
      class: "sdw-plan-line", "vector-effect": "non-scaling-stroke",
    })] : [];
    const ticks = main ? breaks.filter((b) => b >= 1 && b <= span(main)).map((b) =>
      svgNode("line", { x1: x(b - 1, main), x2: x(b - 1, main), y1: 0, y2: H, class: "sdw-break",
        "vector-effect": "non-scaling-stroke" })) : [];
    curve.svg.replaceChildren(...(cfgSwitch ? [cfg] : []), ...ticks, ...lines, ...planned, curve.marker);
    curve.topValue = top;
    curve.top.textContent = String(top);
    curve.cfg.hidden = !cfgSwitch;
    curve.legend.hidden = !other;
    if (other) {
      curve.legend.replaceChildren(
        h("span", { class: "sdw-key sdw-key-main" }), `${main.name} (shown)`,
        h("span", { class: "sdw-key sdw-key-compare" }), `${other.name} (${other.role || "compared"})`);
    }
    const values = main?.values || [];
    curve.svg.setAttribute("aria-label", values.length
      ? `Guidance per step of ${main.name}: ${fmt(values[0])} at step 1, ${fmt(values.at(-1))} at step ${values.length}`
      : "Guidance per step: no steps yet");
  }
  curve.n = main ? span(main) : 0;
  const values = main?.values || [];
  const at = Math.max(0, Math.min(current, values.length - 1));
  curve.marker.setAttribute("x1", x(at, main || { values }));
  curve.marker.setAttribute("x2", x(at, main || { values }));
  curve.marker.style.visibility = current >= 0 && values.length ? "visible" : "hidden";
  let text = "";
  if (current >= 0 && values.length) {
    text = `Step ${at + 1}: ${fmt(values[at])}`;
    if (!other) {
      if (cfgSwitch) text += ` (CFG ${values[at] > 1 ? "on" : "off"})`;
    } else {
      const j = align(at, span(main), span(other));
      const theirs = j < other.values.length ? `step ${j + 1}: ${fmt(other.values[j])}` : `ended at step ${other.values.length}`;
      text = `${main.name} ${text.toLowerCase()} · ${other.name} ${theirs}`;
    }
  }
  curve.readout.textContent = text;
}

// The shown run's step under the pointer, for the readout while hovering (null outside the plot).
export function stepAt(curve, clientX) {
  const box = curve.svg.getBoundingClientRect();
  if (!box.width || !curve.n) return null;
  const fraction = ((clientX - box.left) / box.width) * W;
  return Math.max(0, Math.min(curve.n - 1, Math.round(((fraction - PAD) / (W - 2 * PAD)) * (curve.n - 1))));
}

// The guidance value at height `clientY` of the plot (the inverse of the curve's y axis).
export function valueAt(curve, clientY) {
  const box = curve.svg.getBoundingClientRect();
  if (!box.height) return null;
  const yy = ((clientY - box.top) / box.height) * H;
  const g = ((H - PAD - yy) / (H - 2 * PAD)) * (curve.topValue || 10);
  return Math.round(Math.max(0, Math.min(curve.topValue || 10, g)) * 10) / 10;
}
