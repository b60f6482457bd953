// The knob curves and their editor: the shown run's values per step of the selected knob (knobs.js;
// a compared run's or the parent's beneath) and of its other knobs (thin), the planned values of the
// selected knob dragged over the running run's steps not yet run (and the steps after them, which
// keep the last one), or, with no run going (or none yet), the next run's curves, drawn by dragging and
// sent with Generate. Holds are ticks along the top; the guidance interval's handles are interval.js's.

import { roundTo, sparkline, stepAt, valueAt } from "./chart.js";
import { runInfo } from "./form.js";
import { intervalHandles } from "./interval.js";

const mapOf = (maps, name) => maps.get(name) ?? maps.set(name, new Map()).get(name);
const size = (maps) => [...maps.values()].reduce((n, m) => n + m.size, 0);
// A run's values per step of knob `k` (`i`: its index, the guidance first).
const valuesOf = (info, k, i) => (i === 0 ? info?.guidance : info?.knobs?.[k.name]) || [];

export function guidanceCurve(ctx) {
  const { model, ui, el, store } = ctx;
  const { curve, guidance, steps, clearPlan } = ui;
  // Knob name → (0-based step → value planned by dragging the curve of the running run).
  const plans = new Map();
  // Knob name → (0-based step → value planned for the next run by dragging the curve while no run is
  // going); sent with Generate (the guidance's as `schedule`, the others' as `knob_schedules`; steps
  // not dragged keep the knob's asked value), then cleared.
  const nextPlans = new Map();
  let pendingBreaks = [], runBreaks = { key: 0, steps: [] }; // holds sent with Generate, then the run's
  let drag = null; // { last: step, touched, next } while dragging the curve
  let press = null; // { x, y }: a press with no run going, a drag of the next run's plan once it moves
  let dragged = false; // the last press planned the next run: its click picks no step
  let hover = null; // the step under the pointer
  const handles = intervalHandles(ctx, curve);

  const breakMode = () => ctx.steering.breakMode();
  const sel = () => ctx.knobs.selected();
  const plan = () => mapOf(plans, sel().name), nextPlan = () => mapOf(nextPlans, sel().name);
  const formSteps = () => Math.max(1, Math.min(1000, Number.parseInt(steps.value, 10) || model.get("steps") || 1));
  const nextSchedule = (k = sel(), i = sel().index) => {
    const base = ctx.knobs.asked(i), drawn = mapOf(nextPlans, k.name);
    return Array.from({ length: formSteps() }, (_, s) => drawn.get(s) ?? base);
  };
  // The curve shows the next run (from the form's Steps) in Breakpoints mode and while it is planned.
  const showsNext = () => !ctx.running() && (breakMode() || size(nextPlans) > 0 || Boolean(drag?.next) || !ctx.live());
  // The selected knob's axis (its label, low, top and digits) and CFG switch; the others drawn thin.
  const extra = (more) => ({ scale: sel(), switch: sel().kind === "cfg" && (sel().off_at ?? 1), interval: handles.shaded(), ...more });
  const others = (valuesAt) => ctx.knobs.others(valuesAt);

  function chartNext() {
    const total = formSteps();
    handles.place(total, true);
    sparkline(curve, [{ values: nextSchedule(), total, name: "Next run" }], hover ?? -1, extra({
      plan: new Map([...nextPlan()].filter(([k]) => k < total)), breaks: model.get("breakpoints") || [],
      others: others((k, i) => nextSchedule(k, i)) }));
  }

  function paint() {
    if (showsNext()) return chartNext();
    const where = ctx.preview.where(), key = where.key, info = runInfo(model, key), frames = store.get(key);
    const total = frames[0]?.total || info?.steps || 1;
    const { index } = sel(), of = (run) => valuesOf(run, sel(), index);
    // Before the run's entry lists its guidance, the frames that arrived carry it.
    const shown = index === 0 && !of(info).length ? frames.slice(0, where.n).map((f) => f.guidance) : of(info);
    const series = [where.pos < 0 ? { values: of(info), total: info?.steps || 0, name: info?.name || "" }
      : { values: shown, total, name: info?.name || `#${key}` }];
    const cmp = ctx.compareKey();
    if (where.pos >= 0 && cmp) {
      const cmpInfo = runInfo(model, cmp);
      series.push({ values: of(cmpInfo), total: cmpInfo?.steps || 0, name: cmpInfo?.name || `#${cmp}` });
    } else if (where.pos >= 0 && info?.parent) {
      const parent = runInfo(model, info.parent); // a branch's curve is drawn over its parent's
      if (parent) series.push({ values: of(parent), total: parent.steps || 0, name: parent.name, role: "parent" });
    }
    const own = key === ctx.live(), done = series[0].values.length;
    const planned = own ? new Map([...plan()].filter(([k]) => k >= done - 1)) : undefined;
    // The steps after the dragged stretch keep its last value (the kernel holds it): drawn too.
    const last = planned?.size ? Math.max(...planned.keys()) : -1;
    for (let k = last + 1; last >= 0 && k < (series[0].total || 0); k++) planned.set(k, planned.get(last));
    const current = where.pos < 0 ? -1 : hover ?? (where.atFinal ? where.n - 1 : where.pos);
    handles.place(series[0].total, own && where.pos >= 0);
    sparkline(curve, series, current, extra({ plan: planned, breaks: own && runBreaks.key === key ? runBreaks.steps : [],
      others: others((k, i) => valuesOf(info, k, i)) }));
  }

  function show() {
    clearPlan.hidden = !(size(nextPlans) > 0 && !ctx.running());
    el.classList.toggle("sdw-planmode", !ctx.running() && !breakMode() && size(nextPlans) > 0);
  }

  // Dragging over the running run's steps not yet run plans the selected knob's values (sent on release).
  const planning = () => ctx.shown() === ctx.live() && ctx.running();
  // With no run going (and Breakpoints off), dragging plans the next run instead: the curve turns
  // into the next run's once the pointer moves (a plain click still picks a step of the shown run),
  // or at once when a plan is drawn already.
  const planningNext = () => !ctx.running() && !breakMode() && model.get("has_model");
  const startNext = (x, y) => {
    drag = { next: true, last: null, touched: new Set() };
    chartNext(); // the next run's steps and axis, for the pointer's step and value
    const i = stepAt(curve, x), value = valueAt(curve, y);
    if (i === null || value === null) return;
    nextPlan().set(i, value);
    drag.last = i;
    dragged = true;
    ctx.update();
  };
  // Values from the last step dragged to `to`, in a straight line to the pointer's value.
  function sweep(into, to, value, first = 0) {
    const from = drag.last, dir = to >= from ? 1 : -1, before = into.get(from) ?? value;
    for (let k = from; k !== to + dir; k += dir) {
      if (k < first) continue;
      into.set(k, roundTo(before + (value - before) * (to === from ? 1 : (k - from) / (to - from)), sel().digits));
      drag.touched.add(k);
    }
    drag.last = to;
  }
  const svg = curve.svg;
  ctx.listen(svg, "pointerdown", (event) => {
    dragged = false;
    if (planningNext() && event.button === 0) {
      event.preventDefault();
      svg.setPointerCapture(event.pointerId);
      if (size(nextPlans)) startNext(event.clientX, event.clientY);
      else press = { x: event.clientX, y: event.clientY };
      return;
    }
    const i = stepAt(curve, event.clientX), value = valueAt(curve, event.clientY);
    if (!planning() || i === null || value === null || i < model.get("step")) return;
    event.preventDefault();
    svg.setPointerCapture(event.pointerId);
    drag = { last: i, touched: new Set([i]) };
    plan().set(i, value);
    ctx.schedule();
  });
  ctx.listen(svg, "pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > 4) {
      startNext(press.x, press.y);
      press = null;
    }
    hover = stepAt(curve, event.clientX);
    if (drag && hover !== null && drag.last !== null) {
      const value = valueAt(curve, event.clientY);
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
    model.send({ type: "plan", start, values, ...(index ? { knob: name } : {}) });
  };
  ctx.listen(svg, "pointerup", endDrag);
  ctx.listen(svg, "pointercancel", endDrag);
  ctx.listen(svg, "pointerleave", () => {
    hover = null;
    ctx.schedule();
  });
  ctx.listen(svg, "click", (event) => {
    const i = stepAt(curve, event.clientX);
    if (dragged || (size(nextPlans) && !ctx.running() && !breakMode())) return (dragged = false);
    if (breakMode() && !ctx.running()) return i !== null && ctx.steering.toggleBreak(i + 1);
    if (i !== null && i < store.count(ctx.shown())) ctx.preview.pickStep(i);
  });
  ctx.listen(clearPlan, "click", () => {
    nextPlans.clear();
    ctx.update();
  });
  ctx.listen(guidance, "input", () => showsNext() && ctx.schedule()); // steps not dragged follow the slider
  ctx.listen(steps, "input", () => nextPlans.clear()); // a plan for another number of steps is dropped
  ctx.on("change:run_id", () => {
    plans.clear();
    runBreaks = { key: ctx.live(), steps: pendingBreaks };
    pendingBreaks = [];
  });
  ctx.paints.push(paint);
  ctx.statuses.push(show);
  return {
    reset: () => (hover = null),
    // Generate: the next run's curves where drawn (the guidance's `schedule`, the other knobs'
    // `knobs` by name; null where none was drawn), and the holds it takes.
    takePlan(stepsAsked) {
      pendingBreaks = (model.get("breakpoints") || []).filter((b) => b <= stepsAsked);
      const drawn = ctx.knobs.all().map((k, i) => [k, i]).filter(([k]) => nextPlans.get(k.name)?.size);
      const later = drawn.filter(([, i]) => i > 0).map(([k, i]) => [k.name, nextSchedule(k, i)]);
      const out = { schedule: drawn.some(([, i]) => i === 0) ? nextSchedule(...drawn[0]) : null,
        knobs: later.length ? Object.fromEntries(later) : null };
      nextPlans.clear();
      return out;
    },
    branched: () => (pendingBreaks = []),
  };
}
