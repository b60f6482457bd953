// sdwidget front end, the entry that esbuild bundles into dist/widget.js (the one ES module the
// kernel serves as `_esm`). anywidget calls `initialize` once per model: it makes the model's
// frame store, listens for the kernel's `frames` (live steps, each message acked once with
// `{type: "ack", run}` so the kernel may send more) and `history` (a run's frames on request,
// not acked) messages, and asks with `sync` for the steps a page missed when it opened mid-run.
// anywidget calls `render` once per view (a notebook output, a second view of the same widget):
// it builds the controls and paints the newest frame of the shown run once per animation frame,
// from the shared store, and sends the user's input (generate, pause, guidance, `frames {run}`
// for a run it wants to show, `sweep_item {item}` for a clicked image of a sweep's grid…). Each
// returns a cleanup that removes what it added.

import { initialize } from "./model.js";
import { render } from "./view.js";

export default { initialize, render };
