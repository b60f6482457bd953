// The guidance lens drawn in the page (the kernel's side: sdwidget/widget/lens_local.py). For the
// run and step the slider is on, the kernel sends once the lens's affine part, x0(g) = A + g·B, on
// the range it verified it on, with the recipe of its quick picture; each value of a moving slider
// in that range is then drawn here (recipe.js) and painted at once, with no request: a drag's
// picture no longer waits for Jupyter's round trip. At rest (the run's own preview), outside the
// range, or where the kernel refused (a lens not affine, a preview with no recipe), lens.js asks
// the kernel as before.

import { load, runRecipe } from "./recipe.js";

const at = (r) => `${r.run}|${r.step}`;
// Whether record `r` is for what `want` shows: a held step's part says "not applied yet" in its caption.
const fits = (r, want) => Boolean(r && want && at(r) === at(want) && Boolean(r.held) === Boolean(want.held));

// A top-down 24-bit BMP of `rgb` (H×W×3 bytes): made at once, no encoder, and decoded exactly as
// the PNGs the kernel sends (the browser test compares its pixels with the kernel's).
function bmp({ data, h: ht, w }) {
  const row = (w * 3 + 3) & ~3, size = 54 + row * ht, bytes = new Uint8Array(size), view = new DataView(bytes.buffer);
  bytes.set([0x42, 0x4d]);
  [[2, size], [10, 54], [14, 40], [18, w], [22, -ht]].forEach(([i, v]) => view.setInt32(i, v, true));
  view.setUint16(26, 1, true); // one plane, 24 bits a pixel, no compression
  view.setUint16(28, 24, true);
  for (let y = 0; y < ht; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3, d = 54 + y * row + x * 3;
      bytes[d] = data[s + 2]; // blue, green, red
      bytes[d + 1] = data[s + 1];
      bytes[d + 2] = data[s];
    }
  }
  return new Blob([bytes], { type: "image/bmp" });
}

const floats = (view) => new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));

export function localLens(ctx) {
  const stats = window.sdwidgetStats;
  stats.lensLocal ??= []; // ms to draw a picture here: A + g·B and the recipe
  let record = null; // the affine part and recipe of one run and step, as lens_local sent them
  let last = null; // the newest picture drawn here: { key, answer }
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
    const blob = bmp(runRecipe(record.ops, { c: shape[0], h: shape[1], w: shape[2], data: x }));
    stats.lensLocal.push(performance.now() - started);
    const applied = !record.held && want.guidance === record.ran;
    const msg = { run: want.run, step: want.step, guidance: want.guidance, held: record.held, ran: record.ran,
      applied, picture: record.picture };
    return { msg, blobs: [blob], inputAt: null, at: performance.now() };
  }

  return {
    // The request for lens.js to send for `want`: none where the picture is drawn here; with
    // `local` while this run and step's affine part is neither here nor refused.
    ask(want) {
      if (!want?.quick || want.paid) return want;
      if (covers(want)) return null;
      return refused.has(at(want)) || fits(record, want) ? want : { ...want, local: true };
    },
    // A moving slider's picture drawn here, as asker.js gives the kernel's ({ msg, blobs, inputAt });
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
        [record, last] = [{ ...msg, a, b, ops: load(msg.ops, buffers) }, null];
        ctx.el.dataset.lensLocal = at(msg); // for tests: which step is drawn here
      } catch (error) {
        refuse(msg, error.message);
      }
      return true;
    },
  };
}
