// The knob selector beside Guidance and the slider it drives: which of the model's knobs (the
// `knobs` trait, the guidance first) the slider, its value, the arrow keys and the curve edit act
// on. The slider takes the knob's range and step, its name and its meaning as tooltip. The value
// each knob is asked at is the kernel's (`guidance`, `knob_values`), or the one this page sent and
// the kernel has not echoed yet; a page that opens or reloads starts from the kernel's.

import { axisTop } from "./chart.js";

// The guidance's slider ends at 20, as it always has: higher values are set from Python.
const GUIDANCE_TOP = 20;
const FIRST = { name: "guidance_scale", kind: "cfg", default: 7.5, low: 0, high: 100, off_at: 1, meaning: "" };

export const knobLabel = (knob, i) => (i === 0 ? "Guidance"
  : `${knob.name[0].toUpperCase()}${knob.name.slice(1).replaceAll("_", " ")}`);
// Whole steps for a knob that counts steps, hundredths for one whose range spans 2 or less (a share
// from 0 to 1), tenths otherwise.
export const knobDigits = (knob) => (knob.kind === "steps" ? 0 : knob.high - knob.low <= 2 ? 2 : 1);
const sliderTop = (knob, i) => (i === 0 ? Math.min(knob.high, GUIDANCE_TOP) : knob.high);

export function knobControl(ctx) {
  const { model, ui } = ctx;
  const { knob: select, knobPick, knobName, guidance: slider, guidanceValue } = ui;
  let index = 0; // the selected knob
  let built = ""; // the knob names the select lists
  const sent = new Map(); // knob name → values the slider sent that the kernel has not echoed yet
  let seen = {}; // knob name → the kernel's value last seen, so an echo is told from a change

  const list = () => (model.get("knobs")?.length ? model.get("knobs") : [FIRST]);
  const kernel = (k, i) => (i === 0 ? model.get("guidance") : (model.get("knob_values") || {})[k.name] ?? k.default);
  // The value knob `i` is asked at: the newest one this page sent, else the kernel's.
  const asked = (i) => {
    const k = list()[i];
    return sent.get(k.name)?.length ? sent.get(k.name).at(-1) : kernel(k, i);
  };
  const readout = () => (guidanceValue.textContent = Number(slider.value).toFixed(knobDigits(list()[index])));

  // The slider acts on the selected knob: its range, step, name, tooltip and asked value.
  function retarget() {
    const k = list()[index], digits = knobDigits(k), label = knobLabel(k, index);
    Object.assign(slider, { min: String(k.low), max: String(sliderTop(k, index)), step: String(10 ** -digits) });
    slider.value = String(asked(index));
    slider.setAttribute("aria-label", label);
    slider.title = k.meaning || "";
    select.title = k.meaning || "";
    knobName.textContent = label;
    readout();
  }

  function show() {
    const knobs = list(), names = knobs.map((k) => k.name).join(",");
    if (names !== built) {
      built = names;
      index = Math.min(index, knobs.length - 1);
      select.replaceChildren(...knobs.map((k, i) => Object.assign(document.createElement("option"),
        { value: k.name, textContent: knobLabel(k, i) })));
      select.value = knobs[index].name;
      retarget();
    }
    knobPick.hidden = knobs.length < 2;
    knobName.hidden = !knobPick.hidden; // the select names the knob where there are several
  }

  // The kernel's values: each echo of what the slider sent is dropped from the sent list; any other
  // value (a run started with its own, one set from Python) is shown at once.
  function kernelChanged() {
    const now = Object.fromEntries(list().map((k, i) => [k.name, kernel(k, i)])), mine = list()[index].name;
    const changed = Object.keys(now).filter((name) => !(name in seen) || seen[name] !== now[name]);
    for (const name of changed) {
      const waiting = sent.get(name) || [], i = waiting.indexOf(now[name]);
      sent.set(name, i < 0 ? [] : waiting.slice(i + 1));
    }
    seen = now;
    if (changed.includes(mine) && !sent.get(mine)?.length) { // the other knobs' news leave the slider be
      slider.value = String(asked(index));
      readout();
    }
  }

  ctx.listen(select, "change", () => {
    index = Math.max(0, list().findIndex((k) => k.name === select.value));
    retarget();
    ctx.curve?.reset();
    ctx.update();
  });
  ctx.listen(slider, "input", readout);
  ctx.listen(slider, "change", () => {
    ctx.say("");
    const k = list()[index], value = Number.parseFloat(slider.value);
    if (value === kernel(k, index) && !sent.get(k.name)?.length) return; // asked for already
    sent.set(k.name, [...(sent.get(k.name) || []), value]);
    model.send(index === 0 ? { type: "guidance", value } : { type: "knob", name: k.name, value });
  });
  ctx.on("change:guidance", kernelChanged);
  ctx.on("change:knob_values", kernelChanged);
  ctx.on("change:knobs", () => (show(), kernelChanged()));
  show();
  kernelChanged();
  ctx.statuses.push(show);
  return {
    // The selected knob, its index, label, axis (the guidance's top is drawn to fit) and digits.
    selected() {
      const k = list()[index];
      return { ...k, index, label: knobLabel(k, index), first: index === 0, digits: knobDigits(k),
        top: index === 0 ? null : k.high };
    },
    all: list,
    asked,
    // The knobs not selected, drawn thin over their own ranges (the guidance's up to its axis's top),
    // with their values per step from `valuesAt(knob, index)`.
    others: (valuesAt) => list().map((k, i) => [k, i]).filter(([, i]) => i !== index).map(([k, i]) => {
      const values = valuesAt(k, i);
      return { label: knobLabel(k, i), values, low: i === 0 ? 0 : k.low, high: i === 0 ? axisTop([values]) : k.high,
        digits: knobDigits(k) };
    }),
    // The later knobs' asked values, by name: what a Branch from here continues with.
    laterAsked: () => Object.fromEntries(list().slice(1).map((k, i) => [k.name, asked(i + 1)])),
  };
}
