// Per-model state, made once by anywidget's `initialize` however many views are open: the frame
// store, the one `msg:custom` handler, the acks and the requests for a run's frames. Views
// (view.js) read the store and are told which run gained frames; they never ack, so two views of
// one widget do not halve the kernel's in-flight window. No DOM here: node can run it in tests.

import { FrameStore } from "./frames.js";

const DONE = ["finished", "stopped", "failed"];

// anywidget hands `initialize` and every `render` a proxy of its own, so the model object is no
// key to share by. Proxies of one model do read the very same attribute objects, and each model
// has its own `runs` array, so that array names the model at the moment a view asks for it.
const states = new Set();

export function stateOf(model) {
  const runs = model.get("runs");
  for (const state of states) if (state.model.get("runs") === runs) return state;
  return null;
}

export function initialize({ model }) {
  const store = new FrameStore();
  const watchers = new Set(); // (run key) => void, one per open view
  const requested = new Set(); // run keys asked for and not answered yet

  // Asks the kernel for a run's (or gallery's) frames unless they are here or on their way.
  function need(key) {
    if (!key || store.has(key) || requested.has(key)) return;
    requested.add(key);
    model.send({ type: "frames", run: key });
  }

  function receive(msg, buffers) {
    if (msg.type !== "frames" && msg.type !== "history") return;
    const key = msg.type === "history" ? msg.run : msg.frames[0]?.run;
    store.add(key, msg.frames, buffers, Date.now());
    // A history reply may carry the run's final image after its frames (`final: true`).
    if (msg.type === "history" && msg.final && buffers.length > msg.frames.length) store.setFinal(key, buffers.at(-1));
    // Any reply forgets the pending requests: one the kernel refused is asked again next time.
    if (msg.type === "history") requested.clear();
    // Live frames are acked once per model: the kernel holds back a run's frames after two
    // unacknowledged messages. History replies are not counted, so not acked.
    if (msg.type === "frames") model.send({ type: "ack", run: key });
    watchers.forEach((watch) => watch(key));
  }

  // The current run's final image, kept by run key once it has ended: the end of the scrubber.
  // Other runs' come with their history reply when the kernel sends them (`final`); until it
  // does, a run that ended before this page opened shows its last step there instead.
  function keepFinal() {
    const bytes = model.get("image"), key = model.get("run_id");
    if (key && bytes?.byteLength && DONE.includes(model.get("status"))) {
      store.setFinal(key, bytes);
      watchers.forEach((watch) => watch(key));
    }
  }

  // Runs that left the history (the kernel keeps a bounded number) leave this page's memory too.
  // Run keys grow, so a run key below the newest one known and no longer listed is gone for good;
  // a gallery not listed is gone. The current run is kept, listed or not.
  function evict() {
    const runs = model.get("runs") || [];
    const listed = new Set(runs.map((r) => r.key));
    const live = model.get("run_id") || 0;
    const newest = Math.max(live, ...runs.map((r) => r.key));
    for (const key of store.keys()) {
      if (!listed.has(key) && key !== live && (key < 0 || key < newest)) {
        store.delete(key);
        requested.delete(key);
      }
    }
  }

  const state = {
    model, store, need,
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
  model.on("msg:custom", receive);
  model.on("change:image", keepFinal);
  model.on("change:status", keepFinal);
  model.on("change:runs", evict);
  states.add(state);
  keepFinal();
  // A page that opens (or reloads) while a run goes gets its steps so far; `sync` names the
  // kernel's current run, which is the `run_id` seen here.
  const current = model.get("run_id");
  if (current) {
    requested.add(current);
    model.send({ type: "sync" });
  }
  return () => {
    model.off("msg:custom", receive);
    model.off("change:image", keepFinal);
    model.off("change:status", keepFinal);
    model.off("change:runs", evict);
    states.delete(state);
  };
}
