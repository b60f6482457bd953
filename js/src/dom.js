// Small DOM helpers for the view: element builder and the guidance sparkline. They touch
// `document` only when called, so importing this module works without a DOM (tests in node).

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
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

// Guidance per step: the shown run in the brand colour, a compared run in orange, the CFG
// threshold (1.0) dashed, and a dot on the scrubbed step.
export function sparkline(svg, series, current, total) {
  const width = 240, height = 40, top = Math.max(10, ...series.flat());
  const x = (i) => (total > 1 ? (i / (total - 1)) * (width - 8) + 4 : width / 2);
  const y = (g) => height - 4 - (g / top) * (height - 8);
  svg.replaceChildren(svgNode("line", { x1: 0, x2: width, y1: y(1), y2: y(1), class: "sdw-cfg-line" }));
  series.forEach((values, n) => {
    const points = values.map((g, i) => `${x(i)},${y(g)}`).join(" ");
    svg.append(svgNode("polyline", { points, class: n ? "sdw-compare-line" : "sdw-main-line" }));
  });
  const main = series[0] || [];
  if (current >= 0 && current < main.length) svg.append(svgNode("circle", { cx: x(current), cy: y(main[current]), r: 3 }));
}
