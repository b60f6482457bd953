// sdwidget front end: controls, live preview, step scrubber, guidance curve, filmstrip, history
// and side-by-side comparison. Frames arrive as PNG buffers in custom messages; every frame is
// kept, but only the newest is painted, once per animation frame, so a slow page never lags.
// Loaded after dom.js, frames.js and panel.js (the kernel joins the four into one module).

const DONE = ["finished", "stopped", "failed"];

function render({ model, el }) {
  const ui = controls();
  const { prompt, negative, steps, seed, guidance, guidanceValue, generate, pause, stop, image, other, scrub,
    stepLabel, status, message, pick, compare, save, saved, curve } = ui;

  const stats = (window.sdwidgetStats ??= { latencies: [], paints: 0 });
  const store = new FrameStore();
  const strip = new Filmstrip((i) => {
    pinned = true;
    scrub.value = i + 1;
    schedule();
  });
  let viewKey = 0, stripKey = null, pinned = false, scheduled = false;
  const urls = new Map(); // img element → its blob URL, revoked when replaced

  const live = () => model.get("run_id");
  const shown = () => viewKey || live();
  const compareKey = () => Number(compare.value);
  const entry = (key) => model.get("runs").find((r) => r.key === key);
  const curveOf = (key) => (key === live() ? model.get("applied") : entry(key)?.guidance || []);

  function put(img, blob) {
    const url = URL.createObjectURL(blob);
    img.src = url;
    if (urls.has(img)) URL.revokeObjectURL(urls.get(img));
    urls.set(img, url);
  }

  function need(key) {
    if (key && !store.has(key)) model.send({ type: "frames", run: key });
  }

  function paint() {
    scheduled = false;
    const key = shown(), frames = store.get(key);
    if (stripKey !== key) {
      strip.clear();
      stripKey = key;
    }
    if (!frames.length) return;
    const index = Math.min(pinned ? Number(scrub.value) - 1 : frames.length - 1, frames.length - 1);
    const frame = frames[index];
    if (!frame) return;
    scrub.max = frames.length;
    if (!pinned) scrub.value = frames.length;
    const finalImage = key === live() && !pinned && DONE.includes(model.get("status")) && model.get("image").byteLength;
    put(image, finalImage ? new Blob([model.get("image")], { type: "image/png" }) : frame.blob);
    const cmp = compareKey(), theirs = store.get(cmp);
    other.hidden = !cmp;
    if (cmp && theirs.length) {
      put(other, theirs[Math.min(index, theirs.length - 1)].blob);
      el.dataset.compareStep = String(Math.min(index, theirs.length - 1) + 1);
    }
    stepLabel.textContent = `step ${index + 1}`;
    sparkline(curve, cmp ? [curveOf(key), curveOf(cmp)] : [curveOf(key)], index, Math.max(frames.length, frame.total));
    strip.sync(frames, index);
    stats.paints += 1;
    if (frame.t && !frame.measured) {
      frame.measured = true;
      stats.latencies.push(Date.now() - frame.t * 1000);
    }
    el.dataset.shownStep = String(index + 1);
    el.dataset.shownRun = String(key);
    el.dataset.paints = String(stats.paints);
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(paint);
    }
  }

  function receive(msg, buffers) {
    if (msg.type !== "frames" && msg.type !== "history") return;
    const key = msg.type === "history" ? msg.run : msg.frames[0]?.run;
    store.add(key, msg.frames, buffers);
    if (msg.type === "frames") model.send({ type: "ack", run: key });
    if (key === shown() || key === compareKey()) schedule();
  }

  function options() {
    const label = (r) => `#${Math.abs(r.key)} ${r.source === "run" ? "" : "(gallery) "}${r.prompt.slice(0, 32)} · ${r.status}`;
    const runs = [...model.get("runs")].reverse();
    const fill = (select, first) => {
      const keep = select.value;
      select.replaceChildren(h("option", { value: 0 }, first), ...runs.map((r) => h("option", { value: r.key }, label(r))));
      select.value = runs.some((r) => String(r.key) === keep) ? keep : "0";
    };
    fill(pick, "Current run");
    fill(compare, "None");
    pick.value = String(viewKey);
  }

  function sync() {
    prompt.value = model.get("prompt");
    negative.value = model.get("negative_prompt");
    steps.value = model.get("steps");
    seed.value = model.get("seed");
    guidance.value = model.get("guidance");
    guidanceValue.textContent = Number(model.get("guidance")).toFixed(1);
  }

  function update() {
    const state = model.get("status");
    const applied = model.get("applied");
    const now = applied.length ? ` · guidance ${applied[applied.length - 1].toFixed(1)}` : "";
    const error = model.get("error") ? ` — ${model.get("error")}` : "";
    status.textContent = `Step ${model.get("step")} / ${model.get("total")} · ${model.get("its").toFixed(1)} it/s${now} · ${state}${error}`;
    const label = state === "paused" ? "Resume" : "Pause";
    pause.textContent = label;
    pause.setAttribute("aria-label", label);
    pause.disabled = stop.disabled = !["running", "paused"].includes(state);
    generate.disabled = !model.get("has_model");
    save.disabled = !shown() || model.get("saving");
    message.textContent = model.get("message");
    const name = model.get("saved");
    saved.textContent = model.get("saving") ? "Saving gallery…" : name ? `Saved gallery ${name}` : "";
    schedule();
  }

  function view(key) {
    viewKey = key;
    pinned = false;
    pick.value = String(key);
    need(shown());
    update();
  }

  generate.addEventListener("click", () => {
    const int = (input) => (input.value === "" ? null : Number.parseInt(input.value, 10));
    view(0);
    model.send({
      type: "generate", prompt: prompt.value, negative_prompt: negative.value, steps: int(steps),
      seed: int(seed), guidance: Number.parseFloat(guidance.value),
    });
  });
  pause.addEventListener("click", () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  stop.addEventListener("click", () => model.send({ type: "stop" }));
  save.addEventListener("click", () => model.send({ type: "save", run: shown() }));
  pick.addEventListener("change", () => view(Number(pick.value)));
  compare.addEventListener("change", () => (need(compareKey()), schedule()));
  guidance.addEventListener("input", () => (guidanceValue.textContent = Number(guidance.value).toFixed(1)));
  guidance.addEventListener("change", () => model.send({ type: "guidance", value: Number.parseFloat(guidance.value) }));
  scrub.addEventListener("input", () => {
    const running = shown() === live() && ["running", "paused"].includes(model.get("status"));
    pinned = !(running && Number(scrub.value) === store.get(shown()).length);
    schedule();
  });

  model.on("msg:custom", receive);
  model.on("change:guidance", sync);
  model.on("change:run_id", () => (sync(), viewKey || (pinned = false)));
  model.on("change:runs", () => (options(), schedule()));
  model.on("change:view", () => view(model.get("view")));
  for (const name of ["status", "step", "total", "its", "error", "message", "applied", "image", "run_id", "saved", "saving", "has_model"]) {
    model.on(`change:${name}`, update);
  }
  sync();
  options();
  view(model.get("view"));

  layout(el, ui, strip.el);
  return () => {
    urls.forEach((url) => URL.revokeObjectURL(url));
    strip.clear();
    model.off("msg:custom", receive);
  };
}

export default { render };
