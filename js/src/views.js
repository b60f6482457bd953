// Three views (a toggle beside What if): the shown step's unconditional, conditional and guided x0
// estimates side by side, small and captioned, from the kernel's lens (`views` answers, asked one
// at a time as lens.js asks). A half the step did not compute (CFG off) and a model or gallery with
// no lens say so in words. While the current run goes and the preview follows it, the views wait for
// a hold, the end, or a step picked on the scrubber: each would cost the kernel work between steps.

import { h } from "./dom.js";
import { runInfo } from "./form.js";
import { scaleRule } from "./frames.js";
import { setText } from "./status.js";

const SIDE = 72; // px, each view's side
const NAMES = [["unconditional", "Unconditional"], ["conditional", "Conditional"], ["guided", "Guided"]];

export function stepViews(ctx, ask, toggleAfter, boxAfter) {
  const { model, el } = ctx;
  const toggle = h("button", { type: "button", "aria-pressed": "false", "data-lm-suppress-shortcuts": "true",
    title: "Show the shown step's unconditional, conditional and guided x0 estimates side by side" }, "Three views");
  const figures = NAMES.map(([name, label]) => {
    const img = h("img", { alt: `${label} x0 estimate`, draggable: "false", hidden: true,
      style: "width:100%;height:100%;object-fit:contain;display:block" });
    const empty = h("div", { class: "sdw-empty", style: "padding:4px;font-size:11px" });
    const caption = h("figcaption", { class: "sdw-caption", style: "font-size:11px" });
    const frame = h("div", { class: "sdw-frame", style: `width:${SIDE}px` }, img, empty);
    img.addEventListener("load", () => scaleRule(img, SIDE, SIDE));
    return { name, label, img, empty, caption, url: "", el: h("figure", { class: "sdw-figure" }, frame, caption) };
  });
  const why = h("div", { style: "font-size:12px;color:var(--sdw-muted);max-width:40ch" });
  const box = h("div", { class: "sdw-views", role: "group", "aria-label": "Three views of the shown step", hidden: true,
    style: "display:flex;flex-wrap:wrap;gap:4px 8px;align-items:flex-start" }, ...figures.map((f) => f.el), why);
  toggleAfter.after(toggle);
  boxAfter.after(box);
  let pressed = null; // as clicked, until the kernel's trait says so
  let painted = null; // the answer shown

  const on = () => pressed ?? Boolean(model.get("lens")?.views);
  function target(w) {
    if (!on() || !w || w.pos < 0) return null;
    if (w.key === ctx.live() && model.get("status") === "running" && w.pos === w.n - 1) return null; // following a run
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
  ctx.on("change:lens", () => (pressed = null));
  return {
    paint,
    show,
    receive: ask.receive,
    close: () => figures.forEach((f) => f.url && URL.revokeObjectURL(f.url)),
  };
}
