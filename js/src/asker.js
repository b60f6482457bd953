// One kind of request to the kernel (`lens`, `views`) and its newest answer ({ msg, blobs, inputAt, at }).
// At most `most` requests are in flight; while they are, only the newest wanted goes next
// (latest wins), so a drag never queues more than that in the kernel. The lens allows two:
// its answer takes the kernel a few ms but the trip there and back tens of ms, and with one in
// flight a slider's new value waited for the previous one's answer (half a trip more on average).

import { imageBlob } from "./frames.js";

const LOST = 5000; // ms after which an unanswered request stops blocking the next (a held step's slow model call)

export const keyOf = (r) =>
  (r ? `${r.run}|${r.step}|${r.guidance ?? ""}${r.paid ? "|paid" : ""}${r.quick ? "|quick" : ""}` : "");

// `stamp(request)` gives what to time the request's answer from (lens.js: the slider's input), or null.
export function asker(model, type, stamp = () => null, most = 1) {
  let seq = 0, flights = [], wanted = null, asked = "", latest = 0, answer = null;
  function go() {
    flights = flights.filter((f) => performance.now() - f.at < LOST);
    if (!wanted || keyOf(wanted) === asked || flights.length >= most) return;
    asked = keyOf(wanted);
    const flight = { id: ++seq, at: performance.now(), inputAt: stamp(wanted) };
    flights.push(flight);
    // local: the affine part too, recipe: the key of the recipe the page holds (local_lens.js)
    const { run, step, guidance, paid, quick, local, recipe } = wanted;
    model.send({ type, run, step, ...(guidance == null ? {} : { guidance }), ...(paid ? { paid } : {}),
      ...(quick ? { quick } : {}), ...(local ? { local } : {}), ...(recipe ? { recipe } : {}), id: flight.id });
  }
  return {
    want(request) {
      wanted = request;
      go();
    },
    // Whether `msg` is this kind's answer; an older answer than one taken already is dropped.
    receive(msg, buffers) {
      if (msg?.type !== type) return false;
      const flight = flights.find((f) => f.id === msg.id), inputAt = flight?.inputAt ?? null;
      if (inputAt) inputAt.trip = performance.now() - flight.at; // sent → answered: the kernel and the wire
      flights = flights.filter((f) => f.id > msg.id); // the kernel answers in order: those before it are answered or dropped
      if (msg.id > latest) {
        latest = msg.id;
        answer = { msg, blobs: (buffers || []).map((b) => imageBlob(b)), inputAt, at: performance.now() };
      }
      go();
      return true;
    },
    // The newest answer if it is about run `run` at step `step`.
    answerFor: (want) => (want && answer?.msg.run === want.run && answer.msg.step === want.step ? answer : null),
  };
}
