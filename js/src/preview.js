// Preview and scrubber: the shown run's image at the scrubbed step (or its final image at the
// scrubber's end), the compared run's at the same point of its own schedule, captions saying what
// each image is, the VAE decode of a step (Decode step) until the scrubber moves, and the guidance
// lens's preview where lens.js has one (a held step at the slider's value, What if). It owns which
// step is shown (`where`); the filmstrip and the curve read it when they paint, after it.

import { align } from "./chart.js";
import { h } from "./dom.js";
import { runInfo } from "./form.js";
import { scaleRule } from "./frames.js";
import { setText } from "./status.js";

const g = (frame) => (frame ? `guidance ${Number(frame.guidance).toFixed(1)}` : "");

export function previewPane(ctx) {
  const { model, ui, el, store } = ctx;
  const { main, other, scrub, stepLabel } = ui;
  const stats = window.sdwidgetStats;
  let where = null; // what paint() showed last: { key, pos, n, atFinal } (pos -1: nothing)
  let pinned = false; // the scrubber was moved: it stays on its step while frames arrive
  let decoded = null; // { run, step, blob }: the VAE decode of a step, shown until the scrubber moves
  const urls = new Map(); // img element → its blob URL, revoked when replaced
  const blobs = new Map(); // img element → the blob it shows, so an unchanged one is not reloaded
  const box = { width: 0, height: 0 }; // the previews' box, as last observed (the pixel rule needs it)
  // A lens picture drawn in the page (local_lens.js: pixels, not a file) goes on this canvas over
  // the image, sized and scaled as it is: an <img> loading it as a blob took ~16 of a key's 40 ms
  // to the screen. It fires "load" as the image does (lens.js times its paint from it); the image
  // under it keeps the step's picture, shown again once the canvas hides.
  const canvas = main.canvas = h("canvas", { class: "sdw-image", "aria-hidden": "true", hidden: true,
    style: "position:absolute;inset:0" });
  main.img.after(canvas);
  let drawn = null; // the ImageData on the canvas
  const pixelRule = () => { // frames.js's scaleRule for the canvas: shown at 2× or more, square pixels
    const scale = Math.min(box.width / canvas.width, box.height / canvas.height);
    canvas.style.imageRendering = scale >= 2 ? "pixelated" : "";
  };
  function draw(pixels) {
    canvas.hidden = !pixels;
    if (!pixels || pixels === drawn) return;
    drawn = pixels;
    if (canvas.width !== pixels.width || canvas.height !== pixels.height) {
      [canvas.width, canvas.height] = [pixels.width, pixels.height];
      pixelRule();
    }
    canvas.getContext("2d").putImageData(pixels, 0, 0);
    canvas.dispatchEvent(new Event("load"));
  }

  function put(img, blob) {
    if (blobs.get(img) === blob) return;
    blobs.set(img, blob);
    const url = URL.createObjectURL(blob);
    img.src = url;
    img.hidden = false;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }
  function blank(fig, message) {
    fig.empty.textContent = message;
    fig.empty.hidden = false;
    if (fig.img.hidden) return;
    fig.img.hidden = true;
    fig.img.removeAttribute("src");
    blobs.delete(fig.img);
    if (urls.has(fig.img)) URL.revokeObjectURL(urls.get(fig.img));
    urls.delete(fig.img);
  }
  function emptyText(key, info) {
    if (!key) return model.get("has_model") ? "No image yet: type a prompt and press Generate. Each step's preview shows here."
      : "No model attached: galleries added from Python show here.";
    if (info?.status === "failed") return `${info.name} failed before its first step.`;
    return key === ctx.live() ? `${info?.name || "The run"}: waiting for its first step…` : `Loading ${info?.name || "the run"}…`;
  }

  // What run `key` shows at scrubber position `pos` (0-based step), or at its end (`final`): the
  // image and its caption (run, step, guidance). A run shorter than `pos` shows its last step,
  // and says so; at the end, a run whose final image this page never got shows its last step.
  function at(key, pos, info, final) {
    const frames = store.get(key), n = store.count(key), fin = store.final(key);
    const name = info?.name || `#${key}`;
    if (final && fin) return { blob: fin, caption: [name, "final image", g(frames[n - 1])].filter(Boolean).join(" · ") };
    if (!n) return null;
    const i = Math.min(pos, n - 1), frame = frames[i];
    const note = final ? " (last step)" : i >= pos ? "" : ["stopped", "failed"].includes(info?.status)
      ? ` (${info.status} here)` : " (last step)";
    return { blob: frame.blob, caption: `${name} · step ${i + 1} / ${frame.total}${note} · ${g(frame)}`, index: i };
  }

  function paint() {
    const key = ctx.shown(), frames = store.get(key), n = store.count(key), fin = store.final(key);
    const info = runInfo(model, key);
    const positions = n + (fin ? 1 : 0);
    const cmp = ctx.compareKey(), cmpInfo = cmp ? runInfo(model, cmp) : null;
    other.el.hidden = !cmp;
    // Written only when it changes: a custom property on the root restyles everything under it.
    const columns = cmp ? "2" : "1";
    if (el.style.getPropertyValue("--sdw-n") !== columns) el.style.setProperty("--sdw-n", columns);
    el.dataset.shownRun = String(key);
    if (!positions) {
      draw(null);
      blank(main, emptyText(key, info));
      setText(main.caption, "");
      Object.assign(scrub, { max: 1, value: 1, disabled: true });
      setText(stepLabel, "");
      where = { key, pos: -1, n: 0, atFinal: false };
      el.dataset.shownStep = "";
      return;
    }
    scrub.disabled = false;
    scrub.max = positions;
    const pos = pinned ? Math.min(Number(scrub.value) - 1, positions - 1) : positions - 1;
    scrub.value = pos + 1;
    const atFinal = Boolean(fin) && pos === n;
    const mine = at(key, pos, info, atFinal);
    where = { key, pos, n, atFinal };
    const exact = decoded && decoded.run === key && decoded.step === pos && !atFinal;
    const lens = ctx.lens?.over(where); // a guidance not applied, shown in place of the frame (lens.js)
    setText(main.caption, lens ? lens.caption
      : exact ? `${info?.name || `#${key}`} · step ${pos + 1}, exact (VAE) · ${g(frames[pos])}` : mine.caption);
    draw(lens?.pixels); // after the caption: its "load" comes at once, the image's later
    if (!lens?.pixels) put(main.img, lens ? lens.blob : exact ? decoded.blob : mine.blob);
    el.dataset.decoded = exact ? String(pos + 1) : "";
    const total = frames[0]?.total || info?.steps || 1; // no frames yet: a final image known on its own
    setText(stepLabel, atFinal ? "final image" : `step ${pos + 1} / ${total}`);
    scrub.setAttribute("aria-valuetext", atFinal ? "final image" : `step ${pos + 1} of ${total}`);

    // The compared run at the same point: its final image at the end, else the step as far
    // along its own run as this one is along ours (the same step when both have as many).
    if (cmp) {
      const cn = store.count(cmp), ctotal = store.get(cmp)[0]?.total || 0;
      const theirs = at(cmp, atFinal ? cn : align(pos, total, ctotal), cmpInfo, atFinal);
      if (theirs) {
        put(other.img, theirs.blob);
        setText(other.caption, theirs.caption);
        el.dataset.compareStep = theirs.index == null ? "final" : String(theirs.index + 1);
      } else {
        blank(other, `Loading ${cmpInfo?.name || "the run"}…`);
        setText(other.caption, "");
      }
    }
    stats.paints += 1;
    const painted = atFinal ? null : frames[pos];
    if (painted?.t && !painted.measured) {
      painted.measured = true;
      const now = Date.now();
      stats.latencies.push(now - painted.t * 1000);
      stats.arrivals?.push(painted.received - painted.t * 1000);
      stats.waits?.push(now - painted.received);
    }
    el.dataset.shownStep = atFinal ? "final" : String(pos + 1);
    el.dataset.paints = String(stats.paints);
  }

  // Show step `i` (0-based; the step count is the final image); the live end keeps following.
  function pickStep(i) {
    const following = ctx.shown() === ctx.live() && ctx.running();
    pinned = !(following && i === store.count(ctx.shown()) - 1);
    if (decoded && decoded.step !== i) decoded = null;
    scrub.value = i + 1;
    ctx.schedule();
  }

  const custom = (msg, buffers) => {
    if (msg?.type !== "decoded" || !buffers?.length) return;
    decoded = { run: msg.run, step: msg.step, blob: new Blob([buffers[0]], { type: "image/png" }) };
    ctx.settle();
    ctx.schedule();
  };
  ctx.on("msg:custom", custom);
  ctx.on("change:run_id", () => ctx.viewKey || (pinned = false));
  ctx.listen(scrub, "input", () => pickStep(Number(scrub.value) - 1));
  for (const fig of [main, other]) {
    ctx.listen(fig.img, "load", () => {
      if (!fig.empty.hidden) fig.empty.hidden = true;
      scaleRule(fig.img, box.width, box.height);
    });
  }
  // The pixel rule depends on the size shown, which changes with the widget's width.
  const resized = new ResizeObserver(([entry]) => {
    ({ width: box.width, height: box.height } = entry.contentRect);
    [main.img, other.img].forEach((img) => scaleRule(img, box.width, box.height));
    pixelRule();
  });
  resized.observe(main.img.parentElement);
  ctx.paints.push(paint);
  return {
    pickStep,
    where: () => where,
    reset() {
      pinned = false;
      decoded = null;
    },
    close() {
      resized.disconnect();
      urls.forEach((url) => URL.revokeObjectURL(url));
    },
  };
}
