// sdwidget front end: controls, live preview, step scrubber and guidance sparkline.
// Frames arrive as PNG buffers in custom messages; every frame is kept for the scrubber, but
// only the newest is painted, once per animation frame, so a slow page never falls behind.

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

function sparkline(svg, values, current, total) {
  const width = 240, height = 40, top = Math.max(10, ...values);
  const x = (i) => (total > 1 ? (i / (total - 1)) * (width - 8) + 4 : width / 2);
  const y = (g) => height - 4 - (g / top) * (height - 8);
  svg.replaceChildren();
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", values.map((g, i) => `${x(i)},${y(g)}`).join(" "));
  const one = document.createElementNS(SVG, "line");
  Object.entries({ x1: 0, x2: width, y1: y(1), y2: y(1), class: "sdw-cfg-line" }).forEach(([k, v]) => one.setAttribute(k, v));
  svg.append(one, line);
  if (current >= 0 && current < values.length) {
    const dot = document.createElementNS(SVG, "circle");
    Object.entries({ cx: x(current), cy: y(values[current]), r: 3 }).forEach(([k, v]) => dot.setAttribute(k, v));
    svg.append(dot);
  }
}

function render({ model, el }) {
  el.classList.add("sdw");
  const prompt = h("textarea", { "aria-label": "Prompt", rows: 2 });
  const negative = h("textarea", { "aria-label": "Negative prompt", rows: 1 });
  const steps = h("input", { type: "number", "aria-label": "Steps", min: 1, max: 1000 });
  const seed = h("input", { type: "number", "aria-label": "Seed", min: 0 });
  const guidance = h("input", { type: "range", "aria-label": "Guidance", min: 0, max: 20, step: 0.1 });
  const guidanceValue = h("output", { class: "sdw-guidance-value" });
  const generate = h("button", { type: "button" }, "Generate");
  const pause = h("button", { type: "button", "aria-label": "Pause" }, "Pause");
  const stop = h("button", { type: "button" }, "Stop");
  const image = h("img", { alt: "Live preview", class: "sdw-preview" });
  const scrub = h("input", { type: "range", "aria-label": "Step", min: 1, max: 1, value: 1 });
  const stepLabel = h("span", { class: "sdw-step-label" });
  const status = h("div", { role: "status", class: "sdw-status" });
  const message = h("div", { role: "alert", class: "sdw-message" });
  const curve = document.createElementNS(SVG, "svg");
  curve.setAttribute("viewBox", "0 0 240 40");
  curve.setAttribute("role", "img");
  curve.setAttribute("aria-label", "Guidance per step");
  curve.classList.add("sdw-curve");

  const stats = (window.sdwidgetStats ??= { latencies: [], paints: 0 });
  let frames = [], runId = 0, pinned = false, scheduled = false, shownUrl = null, finalShown = false;

  function show(blob) {
    const url = URL.createObjectURL(blob);
    image.src = url;
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = url;
  }

  function paint() {
    scheduled = false;
    if (!frames.length) return;
    const index = pinned ? Number(scrub.value) - 1 : frames.length - 1;
    const frame = frames[index];
    if (!frame) return;
    scrub.max = frames.length;
    if (!pinned) scrub.value = frames.length;
    const done = ["finished", "stopped", "failed"].includes(model.get("status"));
    if (!pinned && done && model.get("image").byteLength) {
      show(new Blob([model.get("image")], { type: "image/png" }));
      finalShown = true;
    } else {
      show(frame.blob);
      finalShown = false;
    }
    stepLabel.textContent = `step ${index + 1}`;
    sparkline(curve, model.get("applied"), index, model.get("total"));
    stats.paints += 1;
    if (frame.t && !frame.measured) {
      frame.measured = true;
      stats.latencies.push(Date.now() - frame.t * 1000);
    }
    el.dataset.shownStep = String(index + 1);
    el.dataset.paints = String(stats.paints);
  }

  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(paint);
    }
  };

  function receive(msg, buffers) {
    if (msg.type !== "frames" && msg.type !== "history") return;
    const run = msg.type === "history" ? msg.run : msg.frames[0]?.run;
    if (run !== runId) {
      runId = run;
      frames = [];
      pinned = false;
    }
    msg.frames.forEach((meta, i) => {
      frames[meta.step] = { ...meta, blob: new Blob([buffers[i]], { type: "image/png" }) };
    });
    if (msg.type === "frames") model.send({ type: "ack", run });
    schedule();
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
    message.textContent = model.get("message");
    if (model.get("run_id") !== runId) schedule();
    if (["finished", "stopped", "failed"].includes(state)) schedule();
  }

  generate.addEventListener("click", () => {
    const int = (input) => (input.value === "" ? null : Number.parseInt(input.value, 10));
    model.send({
      type: "generate", prompt: prompt.value, negative_prompt: negative.value, steps: int(steps),
      seed: int(seed), guidance: Number.parseFloat(guidance.value),
    });
  });
  pause.addEventListener("click", () => model.send({ type: model.get("status") === "paused" ? "resume" : "pause" }));
  stop.addEventListener("click", () => model.send({ type: "stop" }));
  guidance.addEventListener("input", () => (guidanceValue.textContent = Number(guidance.value).toFixed(1)));
  guidance.addEventListener("change", () => model.send({ type: "guidance", value: Number.parseFloat(guidance.value) }));
  scrub.addEventListener("input", () => {
    const running = ["running", "paused"].includes(model.get("status"));
    pinned = !(running && Number(scrub.value) === frames.length);
    schedule();
  });

  model.on("msg:custom", receive);
  model.on("change:guidance", sync);
  model.on("change:run_id", sync);
  for (const name of ["status", "step", "total", "its", "error", "message", "applied", "image", "run_id"]) {
    model.on(`change:${name}`, update);
  }
  sync();
  update();
  if (model.get("run_id") > 0) model.send({ type: "sync" });

  el.append(
    h("div", { class: "sdw-form" },
      h("label", {}, "Prompt", prompt), h("label", {}, "Negative prompt", negative),
      h("div", { class: "sdw-row" }, h("label", {}, "Steps", steps), h("label", {}, "Seed", seed)),
      h("div", { class: "sdw-row" }, h("label", {}, "Guidance", guidance), guidanceValue),
      h("div", { class: "sdw-row" }, generate, pause, stop), status, message),
    h("div", { class: "sdw-view" }, image, h("div", { class: "sdw-row" }, scrub, stepLabel), curve),
  );
  return () => {
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    model.off("msg:custom", receive);
  };
}

export default { render };
