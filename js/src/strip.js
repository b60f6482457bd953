// The filmstrip: every step of the shown run as a thumbnail (Filmstrip, frames.js), the shown one
// marked. A click or the arrow keys show that step; in Breakpoints mode with no run going, a click
// on a frame sets or clears a hold at that step of the next run instead.

import { Filmstrip } from "./frames.js";

export function filmstrip(ctx) {
  const { store } = ctx;
  const strip = new Filmstrip((i, event) => (event && ctx.steering.breakMode() && !ctx.running() && i < strip.steps
    ? ctx.steering.toggleBreak(i + 1) : ctx.preview.pickStep(i)));
  let stripKey = null; // the run whose frames the strip holds

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
    },
  };
}
