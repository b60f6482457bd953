// The guidance lens on the page (the kernel's side: sdwidget/widget/lens.py). While the current run
// is held, moving the Guidance slider (pointer or arrow keys) shows its next step at the slider's
// value in the main preview, outlined dashed and captioned "preview at 3.2 — not applied yet"; Next
// step or Resume applies it, as the slider already asks. What if shows the shown step at the
// slider's value; Branch with this continues the run from that step with it. The three views
// (views.js) and the effect under the chart (effect.js) are wired here. Requests go as asker.js
// sends them; an answer is shown where it fits the run and step on screen, captioned with its own
// value. While the slider moves the kernel sends its quick picture (where the run's preview is the
// VAE's decode, too slow to follow a drag: its fallback's), and once the slider rests the run's own
// preview; the caption says which. Where the kernel sent a step's affine part, a moving slider's
// pictures are drawn in the page itself, with no request (local_lens.js).

import { h } from "./dom.js";
import { effectTrace } from "./effect.js";
import { asker, keyOf } from "./asker.js";
import { enable, runInfo } from "./form.js";
import { setText } from "./status.js";
import { localLens } from "./local_lens.js";
import { paidPreview } from "./paid.js";
import { stepViews } from "./views.js";

const REST = 250; // ms after the slider's last input that it is at rest: the run's own preview is asked then
const BRANCHABLE = ["finished", "stopped", "paused"];
const fix = (g) => Number(g).toFixed(1);
const PICTURES = { quick: " · quick preview", decoded: " · VAE decode" }; // said after the caption

export function guidanceLens(ctx) {
  const { model, ui, el, store } = ctx;
  const stats = window.sdwidgetStats;
  stats.lens ??= []; // slider input → its preview painted, ms
  stats.lensRest ??= []; // slider at rest → the run's own preview painted, ms
  stats.lensTrip ??= []; // of those timed: the request's trip, sent → answered, ms
  let inputAt = 0, stamped = 0, restAt = 0, rested = 0, moving = false, restTimer = null;
  // What a request's paint is timed from: a quick one from the input, the one at rest from the rest.
  const stamp = (r) => (r?.quick ? inputAt > stamped && { at: (stamped = inputAt), into: stats.lens }
    : restAt > rested && { at: (rested = restAt), into: stats.lensRest }) || null;
  const lens = asker(model, "lens", stamp, 2), local = localLens(ctx);
  const whatIf = h("button", { type: "button", "aria-pressed": "false", "data-lm-suppress-shortcuts": "true",
    title: "Show the shown step at the Guidance slider's value, without applying it" }, "What if");
  const branchWith = h("button", { type: "button", hidden: true, "data-lm-suppress-shortcuts": "true",
    "data-title": "Continue the shown run from the shown step at the slider's guidance: the What if made real" },
  "Branch with this");
  const note = h("div", { class: "sdw-lens-note", "aria-live": "polite", hidden: true,
    style: "font-size:12px;border-left:3px solid var(--sdw-line);padding-left:6px;overflow-wrap:anywhere" });
  // Beside the slider they read, in the form's column, which is shorter than the view's: no row
  // is added under a preview that a host's output box may have shrunk already (fit.js).
  ui.next.parentElement.after(h("div", { class: "sdw-row sdw-buttons" }, whatIf, branchWith));
  ui.main.el.parentElement.after(note);
  const frameBox = ui.main.img.parentElement;
  // Said on the image itself too, so a glance (or a screenshot) never takes it for a step that ran.
  const badge = h("span", { "aria-hidden": "true", hidden: true, style: "position:absolute;top:6px;left:6px;"
    + "padding:1px 6px;font-size:11px;border:1px dashed var(--sdw-fg);color:var(--sdw-fg);"
    + "background:var(--jp-layout-color1, Canvas)" }, "not applied");
  frameBox.append(badge);
  let moved = null; // { run, step }: the slider moved while the run was held before this step
  let pressed = null; // What if as clicked, until the kernel's trait says so
  let now = { kind: "", refused: "" }; // what the last paint showed
  let measuring = null; // { at, into }: a preview on its way to the screen, timed from `at` into that list
  let paidFor = ""; // the request Preview was pressed for: asked with its model call while it is shown

  const mode = () => model.get("lens") || {};
  const on = () => pressed ?? Boolean(mode().what_if);
  // The live run, held, shown at its newest step: the slider previews the step to come.
  const held = (w) => w.key === ctx.live() && model.get("status") === "paused" && !w.atFinal && w.n > 0
    && w.pos === w.n - 1 && w.n === model.get("step");

  // What the main preview should show instead of the step's own frame: { run, step, guidance, held } or null.
  function target(w) {
    if (!w || w.pos < 0 || ctx.knobs.selected().index !== 0) return null;
    const g = Number(ui.guidance.value), kept = mode().held, quick = moving;
    if (held(w) && moved?.run === w.key && moved.step === w.n) {
      const coming = { run: w.key, step: w.n, guidance: g, held: true };
      return keyOf(coming) === paidFor ? { ...coming, paid: true } : { ...coming, quick };
    }
    if (held(w) && kept?.run === w.key && kept.step === w.n) return { ...kept, held: true }; // after a reload
    const following = w.key === ctx.live() && model.get("status") === "running" && w.pos === w.n - 1;
    if (!on() || w.key <= 0 || following) return null;
    const want = { run: w.key, step: w.atFinal ? w.n - 1 : w.pos, guidance: g };
    return keyOf(want) === paidFor ? { ...want, paid: true } : { ...want, quick };
  }

  function caption(msg) {
    const info = runInfo(model, msg.run), total = store.get(msg.run)[0]?.total || info?.steps || msg.step + 1;
    const at = `${info?.name || `#${msg.run}`} · step ${msg.step + 1} / ${total}`, said = PICTURES[msg.picture] || "";
    if (msg.held) return `${at} · preview at ${fix(msg.guidance)} — not applied yet${said}`;
    return msg.applied ? `${at} · at ${fix(msg.guidance)} — as it ran${said}`
      : `${at} · what if ${fix(msg.guidance)} — not applied (ran at ${fix(msg.ran)})${said}`;
  }

  // Called by the preview as it paints (preview.js): { blob or pixels (drawn here), caption } to show, or null.
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
    enable(branchWith, key > 0 && BRANCHABLE.includes(info?.status) && w?.key === key && w.pos >= 0,
      key < 0 ? "A loaded gallery cannot be continued" : "Only a finished, stopped or paused run can be branched");
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
    if (want && !asked) ctx.paint(); // drawn here: at once, not at the next frame
    else ctx.schedule();
  });
  // Painted: the frame after the preview's image has loaded, or its canvas been drawn (preview.js).
  const painted = () => {
    const timed = measuring;
    measuring = null;
    if (timed) {
      requestAnimationFrame(() => timed.into.push(performance.now() - timed.at));
      if (timed.trip != null && timed.into === stats.lens) stats.lensTrip.push(timed.trip); // a moving slider's
    }
  };
  ctx.listen(ui.main.img, "load", painted);
  ctx.listen(ui.main.canvas, "load", painted);
  const paid = paidPreview(ctx, note, () => {
    const want = target(ctx.preview.where());
    paidFor = want ? keyOf({ ...want, paid: false, quick: false }) : ""; // the held step's too (paid.js)
    ctx.schedule();
  });
  const views = stepViews(ctx, asker(model, "views"), branchWith, note);
  const effect = effectTrace(ctx);
  // A lens answer is painted at once rather than at the next animation frame: a dragged slider's
  // picture is late by the trip already (paint is idempotent: the frame's own paint changes nothing).
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
    },
  };
}
