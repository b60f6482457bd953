// Frames of every run the page has seen, by run key (runs > 0, loaded galleries < 0), and the
// final image of each run whose end the page saw. One FrameStore per model (model.js), emptied of
// runs that leave the history; one Filmstrip per view (view.js), holding one blob URL per
// thumbnail of the shown run, revoked when it changes.

import { h } from "./dom.js";

// The kernel sends small frames as PNG and large ones as WebP (sender.py); the first byte tells.
export function imageBlob(bytes) {
  const first = new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, 1)[0];
  return new Blob([bytes], { type: first === 0x89 ? "image/png" : "image/webp" });
}

export class FrameStore {
  constructor() {
    this.byRun = new Map();
    this.finals = new Map();
  }
  get(key) {
    return this.byRun.get(key) || [];
  }
  has(key) {
    return this.byRun.has(key);
  }
  // Steps 0…n-1 all here: what can be shown in order (a reply may still be on its way for a gap).
  count(key) {
    const frames = this.get(key);
    let n = 0;
    while (n < frames.length && frames[n]) n++;
    return n;
  }
  // `received`: when the message arrived (ms since the epoch), for the latency statistics.
  add(key, metas, buffers, received = 0) {
    const frames = this.byRun.get(key) || [];
    metas.forEach((meta, i) => (frames[meta.step] = { ...meta, received, blob: imageBlob(buffers[i]) }));
    this.byRun.set(key, frames);
    return frames;
  }
  // The run's final image (PNG bytes): what the end of the scrubber shows.
  setFinal(key, bytes) {
    if (!this.finals.has(key)) this.finals.set(key, imageBlob(bytes));
  }
  final(key) {
    return this.finals.get(key) || null;
  }
  keys() {
    return new Set([...this.byRun.keys(), ...this.finals.keys()]);
  }
  delete(key) {
    this.byRun.delete(key);
    this.finals.delete(key);
  }
}

// Whether an image is shown at twice its size or more in a `width` × `height` box: then its pixels
// are drawn as squares (`sdw-pixels`), otherwise smoothed. One rule for the previews and the
// filmstrip alike. The box size is passed in (known or observed), never measured here: reading
// layout while a frame is being painted would force the whole page's layout.
export function scaleRule(img, width, height) {
  if (!img.naturalWidth || !width) return;
  const scale = Math.min(width / img.naturalWidth, height / img.naturalHeight);
  img.classList.toggle("sdw-pixels", scale >= 2);
}

const THUMB = 38; // px, the side of a filmstrip thumbnail (the stylesheet reads --sdw-thumb)

// The shown run's steps as a horizontal listbox: one option per step (its number under it) and,
// once known, the final image last. One tab stop; the arrow keys, Home and End move along it and
// show the step, as the Step slider does. It scrolls itself (never the page) to keep the current
// option in sight.
export class Filmstrip {
  constructor(onPick) {
    this.el = h("div", { class: "sdw-filmstrip", role: "listbox", "aria-label": "Filmstrip", "aria-orientation": "horizontal",
      style: `--sdw-thumb: ${THUMB}px` });
    this.onPick = onPick;
    this.items = []; // options, steps in order, then the final image's
    this.urls = [];
    this.steps = 0;
    this.final = null;
    this.current = -1;
    this.selected = this.tabbed = null;
    this.el.addEventListener("keydown", (event) => {
      const last = this.items.length - 1;
      const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
      let to = null;
      if (event.key in moves) to = Math.max(0, Math.min(last, Math.max(this.current, 0) + moves[event.key]));
      if (event.key === "Home") to = 0;
      if (event.key === "End") to = last;
      if (to === null || last < 0) return;
      event.preventDefault();
      this.onPick(to);
      this.mark(to);
      this.items[to].focus({ preventScroll: true });
    });
  }
  clear() {
    this.urls.forEach((url) => URL.revokeObjectURL(url));
    this.urls = [];
    this.items = [];
    this.steps = 0;
    this.final = null;
    this.current = -1;
    this.selected = this.tabbed = null;
    this.el.replaceChildren();
  }
  option(blob, label, caption) {
    const url = URL.createObjectURL(blob);
    this.urls.push(url);
    const img = h("img", { src: url, alt: "", draggable: "false" });
    img.addEventListener("load", () => scaleRule(img, THUMB, THUMB), { once: true });
    const item = h("div", { role: "option", tabindex: "-1", "aria-selected": "false", "aria-label": label, title: label },
      img, h("span", { class: "sdw-frame-number", "aria-hidden": "true" }, caption));
    item.addEventListener("click", (event) => {
      this.onPick(this.items.indexOf(item), event);
      item.focus({ preventScroll: true });
    });
    return item;
  }
  // Adds options for the steps not listed yet (in order) and the final image once there;
  // `current` is the index of the option shown (steps, then the final image).
  sync(frames, count, finalBlob, current, describe) {
    const before = this.items.length;
    for (let i = this.steps; i < count; i++) {
      const item = this.option(frames[i].blob, describe(i), String(i + 1));
      this.el.insertBefore(item, this.final);
      this.items.splice(i, 0, item);
      this.steps = i + 1;
    }
    if (finalBlob && !this.final) {
      this.final = this.option(finalBlob, "Final image", "final");
      this.final.classList.add("sdw-final");
      this.el.append(this.final);
      this.items.push(this.final);
    }
    this.mark(current, before !== this.items.length);
  }
  // Marks option `current` as the one shown (the tab stop); scrolls it into view when it changed.
  mark(current, moved = false) {
    const item = this.items[current] || null;
    if (this.selected !== item) {
      this.selected?.setAttribute("aria-selected", "false");
      item?.setAttribute("aria-selected", "true");
      this.selected = item;
      moved = true;
    }
    const tab = item || this.items[0];
    if (tab && this.tabbed !== tab) {
      if (this.tabbed) this.tabbed.tabIndex = -1;
      tab.tabIndex = 0;
      this.tabbed = tab;
    }
    this.current = current;
    if (item && moved) {
      // Scrolled at the start of the next animation frame, while the page's layout is still
      // the one just drawn: measuring now, after this paint's changes, would lay out the page.
      if (!this.pending) requestAnimationFrame(() => this.reveal());
      this.pending = item;
    }
  }
  // Scrolls the strip, and only the strip, so that the marked option is in view.
  reveal() {
    const item = this.pending;
    this.pending = null;
    if (!item || !item.isConnected) return;
    const strip = this.el, left = item.offsetLeft, right = left + item.offsetWidth;
    if (left < strip.scrollLeft) strip.scrollLeft = Math.max(0, left - 8);
    else if (right > strip.scrollLeft + strip.clientWidth) strip.scrollLeft = right - strip.clientWidth + 8;
  }
}
