// The sweep under the run: the grid of a sweep folder added from Python (`add_sweep`), a button
// laid over each image of it, and the record of the item clicked. The kernel holds the folder;
// this view names an item by its number only (`{type: "sweep_item", item}`), and the kernel
// checks it, puts its record in the `sweep` trait and replays it as the current run, whose frames
// paint in the preview above (`onReplay` makes the view follow the current run). The grid's PNG
// is no trait, so a saved notebook stays small: it comes as a binary buffer in a `sweep_grid`
// message, asked for once per sweep (its `key`) and per view.

import { h, svgNode } from "./dom.js";

const fmt = (g) => Number(g).toFixed(1);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// What the record says, a line each: the item, then how it was rendered, then its prompt edits.
export function recordLines(r) {
  const curve = r.guidance.length ? `guidance ${fmt(r.guidance[0])} → ${fmt(r.guidance.at(-1))}` : "no steps";
  const where = r.device == null ? "" : ` on ${r.device}`
    + (r.processes > 1 && r.rank != null ? ` (process ${r.rank + 1} of ${r.processes})` : "");
  const took = r.seconds == null ? "" : ` · rendered in ${r.seconds.toFixed(2)} s${where}`;
  const lines = [
    `Item ${r.item} · seed ${r.seed} · ${r.status} · ${plural(r.steps, "step")} · ${r.size[0]}×${r.size[1]}`,
    `Prompt: ${r.prompt}` + (r.negative_prompt ? ` · negative: ${r.negative_prompt}` : ""),
    `${plural(r.guidance.length, "step")} recorded, ${curve}${took}`,
    ...r.prompts.map((c) => `Prompt from step ${c.step}: ${c.prompt}`),
  ];
  if (r.error) lines.push(`Error: ${r.error}`);
  return lines;
}

// The record's guidance per step as a small line; its label reads the values out.
function curveLine(values) {
  const W = 120, H = 28, top = Math.max(10, ...values);
  const x = (i) => (values.length > 1 ? (i / (values.length - 1)) * W : W / 2);
  const points = values.map((g, i) => `${x(i).toFixed(1)},${(H - (g / top) * H).toFixed(1)}`).join(" ");
  const label = values.length ? `Guidance per step: ${values.map(fmt).join(", ")}` : "Guidance per step: none";
  const svg = svgNode("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
    "aria-label": label.length > 300 ? `${label.slice(0, 297)}…` : label, class: "sdw-sweep-curve" });
  svg.append(svgNode("polyline", { points, class: "sdw-main-line", "vector-effect": "non-scaling-stroke" }));
  return svg;
}

export function sweepPanel(model, onReplay) {
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
      type: "button", class: "sdw-sweep-cell", "data-item": String(c.item), "aria-pressed": "false",
      "aria-label": `Replay item ${c.item}: ${c.caption}`, title: `${c.caption} · click to replay`,
      "data-lm-suppress-shortcuts": "true",
    });
    Object.assign(button.style, { left: `${(x / width) * 100}%`, top: `${(y / height) * 100}%`,
      width: `${(w / width) * 100}%`, height: `${(hh / height) * 100}%` });
    // The caption in full over the grid's own strip (cut short there, in tiny type).
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
    title.replaceChildren(h("strong", {}, `Sweep ${s.name}`),
      ` · ${plural(s.cells.length, "image")} · click one to see its record and replay it`);
    for (const button of cells.children) button.setAttribute("aria-pressed", String(button.dataset.item === String(s.selected)));
    if (s.record !== shownRecord) {
      shownRecord = s.record;
      record.replaceChildren(...(s.record
        ? [curveLine(s.record.guidance), h("div", {}, ...recordLines(s.record).map((line) => h("div", {}, line)))]
        : []));
    }
  }

  // Only the reply for the sweep shown now is painted; an older sweep's (one replaced meanwhile) is dropped.
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
    },
  };
}
