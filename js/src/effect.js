// Where guidance acts: under the guidance chart, one bar per step of the shown run for how much
// guidance changed the picture at that step (the kernel's `effects` trait: Run.guidance_effect, the
// mean |x0(g) − x0(off)| of the step's x0 estimate), across the very steps of the chart above (its
// x mapping, chart.js), the shown step marked and read out. Where no lens exists it says why.

import { h, svgNode } from "./dom.js";
import { runInfo } from "./form.js";
import { setText } from "./status.js";

const W = 300, H = 24, PAD = 3; // chart.js's width and padding, so step i sits under step i
const TITLE = "How much guidance changed the picture at each step";
const SHORT = "How much guidance changed the picture, per step"; // the title shown, beside the readout
const num = (v) => (v >= 0.01 ? v.toPrecision(2) : v > 0 ? v.toExponential(1) : "0");

// Whether a box above `el` (across shadow roots) limits its height and scrolls: fit.js's test.
function heightLimited(el) {
  for (let n = el.parentElement ?? el.getRootNode().host; n; n = n.parentElement ?? n.getRootNode().host) {
    const style = getComputedStyle(n);
    if (style.maxHeight !== "none" && ["auto", "scroll"].includes(style.overflowY)) return true;
  }
  return false;
}

export function effectTrace(ctx) {
  const { model, ui, el, store } = ctx;
  const svg = svgNode("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": TITLE,
    class: "sdw-effect-plot", style: "display:block;width:100%;height:100%;overflow:visible" });
  const title = h("span", {}, SHORT);
  const readout = h("span", { class: "sdw-effect-readout" });
  const body = h("div", { class: "sdw-curve-body", style: `height:${H}px` },
    h("div", { class: "sdw-axis-col", "aria-hidden": "true" }), h("div", { class: "sdw-plot-box" }, svg));
  const box = h("div", { class: "sdw-effect", style: "margin-top:4px" },
    h("div", { class: "sdw-effect-head", title: "The mean change of the step's x0 estimate between its guidance "
      + "and guidance off (0 where CFG was off)" }, title, readout), body);
  // In a host's output box of limited height (marimo's editor: fit.js shrinks the previews to fit
  // it), the trace folds into one line at the left of the chart's foot, which step guidance acted
  // on most, until Enlarge preview lifts the limit. Folded from the start, so the fit counts it so.
  const folded = h("span", { hidden: true, style: "margin-right:auto;font-size:11px;line-height:1.2" });
  ui.curve.el.append(box);
  ui.curve.el.querySelector(".sdw-curve-foot").prepend(folded);
  let limited = null; // whether a box above the widget limits its height, once the widget is on the page
  const classes = new MutationObserver(ctx.schedule); // Enlarge preview, Breakpoints, a drawn plan
  classes.observe(el, { attributes: true, attributeFilter: ["class"] });
  let drawn = "", marker = null, span = 1;
  const x = (i) => (span > 1 ? (i / (span - 1)) * (W - 2 * PAD) + PAD : W / 2);

  function draw(key, values, total, name) {
    span = Math.max(total, values.length, 1);
    const top = Math.max(0, ...values.filter((v) => v != null));
    const width = Math.max(1, Math.min(8, ((W - 2 * PAD) / Math.max(span - 1, 1)) * 0.6));
    const bars = values.map((v, i) => (!(v > 0) ? null : svgNode("rect", {
      x: (x(i) - width / 2).toFixed(2), width: width.toFixed(2), y: (H - (v / top) * (H - 2)).toFixed(2),
      height: ((v / top) * (H - 2)).toFixed(2), style: "fill:var(--sdw-accent);fill-opacity:0.7" }))).filter(Boolean);
    marker = svgNode("line", { y1: 0, y2: H, class: "sdw-marker", "vector-effect": "non-scaling-stroke" });
    svg.replaceChildren(...bars, marker);
    const known = values.map((v, i) => [v, i]).filter(([v]) => v != null);
    const most = known.reduce((a, b) => (b[0] > a[0] ? b : a), [-1, -1]);
    const least = known.reduce((a, b) => (b[0] < a[0] ? b : a), [Infinity, -1]);
    svg.setAttribute("aria-label", known.length ? `${TITLE}, ${name}: most at step ${most[1] + 1} (${num(most[0])}), `
      + `least at step ${least[1] + 1} (${num(least[0])})` : `${TITLE}: no steps yet`);
    setText(folded, known.length ? `Guidance acted most at step ${most[1] + 1}` : "");
    folded.title = svg.getAttribute("aria-label");
    drawn = key;
  }

  function paint() {
    const w = ctx.preview.where(), key = w?.key || 0, info = runInfo(model, key);
    // The chart shows the next run (Breakpoints, a drawn plan): no run's effect belongs under it.
    const off = ["sdw-breakmode", "sdw-planmode"].some((name) => el.classList.contains(name));
    if (limited === null && el.isConnected) limited = heightLimited(el);
    const fold = Boolean(limited) && !el.classList.contains("sdw-large");
    box.hidden = off || fold;
    folded.hidden = off || !fold;
    const entry = (model.get("effects") || {})[String(key)], values = entry?.values || [];
    const total = store.get(key)[0]?.total || info?.steps || values.length;
    const none = key < 0 ? "a loaded gallery keeps no model outputs" : entry?.note && !values.some((v) => v != null)
      ? entry.note : "";
    setText(title, none ? `No guidance effect to show: ${none}` : SHORT);
    body.hidden = Boolean(none);
    const id = `${key}|${total}|${values.join(",")}`;
    if (id !== drawn) draw(id, values, total, info?.name || `#${key}`);
    const at = w?.pos < 0 ? -1 : w?.atFinal ? w.n - 1 : w?.pos ?? -1;
    marker.setAttribute("x1", x(Math.max(at, 0)));
    marker.setAttribute("x2", x(Math.max(at, 0)));
    marker.style.visibility = at >= 0 ? "visible" : "hidden";
    const v = values[at], cfgOff = v === 0;
    setText(readout, none || at < 0 || at >= values.length ? "" : v == null ? `step ${at + 1}: no lens`
      : `step ${at + 1}: ${cfgOff ? "0 (CFG off)" : num(v)}`);
  }
  return { paint, close: () => classes.disconnect() };
}
