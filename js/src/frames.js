// Frames of every run the page has seen, by run key (runs > 0, loaded galleries < 0).
// The filmstrip holds one blob URL per thumbnail of the shown run, revoked when it changes.
// One FrameStore per model (model.js); one Filmstrip per view (view.js).

import { h } from "./dom.js";

export class FrameStore {
  constructor() {
    this.byRun = new Map();
  }
  get(key) {
    return this.byRun.get(key) || [];
  }
  has(key) {
    return this.byRun.has(key);
  }
  add(key, metas, buffers) {
    const frames = this.byRun.get(key) || [];
    metas.forEach((meta, i) => (frames[meta.step] = { ...meta, blob: new Blob([buffers[i]], { type: "image/png" }) }));
    this.byRun.set(key, frames);
    return frames;
  }
}

export class Filmstrip {
  constructor(onPick) {
    this.el = h("div", { class: "sdw-filmstrip", role: "list", "aria-label": "Filmstrip" });
    this.onPick = onPick;
    this.urls = [];
  }
  clear() {
    this.urls.forEach((url) => URL.revokeObjectURL(url));
    this.urls = [];
    this.el.replaceChildren();
  }
  // Adds thumbnails for frames not shown yet; frames arrive in step order.
  sync(frames, current) {
    for (let i = this.urls.length; i < frames.length && frames[i]; i++) {
      const url = URL.createObjectURL(frames[i].blob);
      this.urls.push(url);
      const img = h("img", { src: url, alt: `step ${i + 1}`, role: "listitem", title: `step ${i + 1} · g ${frames[i].guidance}` });
      img.addEventListener("click", () => this.onPick(i));
      this.el.append(img);
    }
    [...this.el.children].forEach((img, i) => img.classList.toggle("sdw-current", i === current));
  }
}
