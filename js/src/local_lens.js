// The guidance lens drawn in the page (the kernel's side: sdwidget/widget/lens_local.py). For the
// run and step the slider is on, the kernel sends once the lens's affine part, x0(g) = A + g·B, on
// the range it verified it on, with the recipe of its quick picture where the page lacks it (the
// request names the key of the recipe it holds: it comes once per preview state, not per step);
// each value of a moving slider in that range is then drawn here (recipe.js) and painted at once
// (on preview.js's canvas, no image decoded), with no request: a drag's picture no longer waits
// for Jupyter's round trip. At rest (the run's own preview), outside the range, or where the
// kernel refused (a lens not affine, a preview with no recipe), lens.js asks the kernel as before.

import { load, runRecipe } from "./recipe.js";

const at = (r) => `${r.run}|${r.step}`;
// Whether record `r` is for what `want` shows: a held step's part says "not applied yet" in its caption.
const fits = (r, want) => Boolean(r && want && at(r) === at(want) && Boolean(r.held) === Boolean(want.held));

// `rgb` (H×W×3 bytes) as the canvas's RGBA pixels (preview.js puts them on screen): opaque, so a
// canvas read gives the very bytes back (the browser test compares them with the kernel's).
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

const floats = (view) => new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));

export function localLens(ctx) {
  const stats = window.sdwidgetStats;
  stats.lensLocal ??= []; // ms to draw a picture here: A + g·B and the recipe
  let record = null; // the affine part and recipe of one run and step, as lens_local sent them
  let last = null; // the newest picture drawn here: { key, answer }
  let recipe = null; // { key, ops }: the recipe the kernel sent last, kept across steps and runs by its key
  const refused = new Map(); // run|step → why the kernel sent no affine part
  const forget = () => {
    [record, last] = [null, null];
    refused.clear();
    delete ctx.el.dataset.lensLocal;
  };
  const refuse = (r, why) => { // the kernel answers each value of this run and step instead
    [record, last] = [null, null];
    refused.set(at(r), why);
    ctx.el.dataset.lensLocal = `refused: ${why}`;
  };
  // A run that goes on, ends or starts changes what the steps show, and a fitted map refits.
  ctx.on("change:status", forget);
  ctx.on("change:run_id", forget);

  const covers = (want) => fits(record, want) && !want.paid && want.guidance <= record.high
    && (want.guidance >= record.low || record.flat_below);

  function draw(want) {
    const started = performance.now(), g = Math.max(want.guidance, record.low), { a, b, shape } = record;
    const x = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) x[i] = a[i] + g * b[i];
    const image = pixels(runRecipe(record.ops, { c: shape[0], h: shape[1], w: shape[2], data: x }));
    stats.lensLocal.push(performance.now() - started);
    const applied = !record.held && want.guidance === record.ran;
    const msg = { run: want.run, step: want.step, guidance: want.guidance, held: record.held, ran: record.ran,
      applied, picture: record.picture };
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
        } catch (error) { // a recipe that does not run here: the kernel draws this step's values
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
        if (recipe?.key !== msg.recipe) { // sent for a recipe no longer here: the next request asks for it
          [record, last, recipe] = [null, null, null];
          return true;
        }
        [record, last] = [{ ...msg, a, b, ops: recipe.ops }, null];
        ctx.el.dataset.lensLocal = at(msg); // for tests: which step is drawn here
      } catch (error) {
        refuse(msg, error.message);
      }
      return true;
    },
  };
}
