// Fitting a host's output box: where the widget sits in a box of limited height that scrolls
// (marimo's editor gives a cell's output at most 610 px), the previews shrink until the whole
// widget shows in it, so scrubber, curve and filmstrip never sit in a nested scroll area. Enlarge
// preview lifts the limit (the person asked for the big picture). Elsewhere nothing changes.

const SMALLEST = 96; // px, the side below which a preview is not shrunk further (room for the knob legend at 610 px)

// The nearest box above `el` (across shadow roots) whose height is limited and that scrolls.
function limiter(el) {
  for (let n = el.parentElement ?? el.getRootNode().host; n; n = n.parentElement ?? n.getRootNode().host) {
    const style = getComputedStyle(n);
    if (style.maxHeight !== "none" && ["auto", "scroll"].includes(style.overflowY)) return n;
  }
  return null;
}

export function hostFit(ctx) {
  const { el, ui } = ctx;
  let box, width = 0, frame = 0;

  function fit(entries) {
    box ??= limiter(el);
    if (!box || el.classList.contains("sdw-large")) return;
    const seen = entries?.at(-1)?.contentRect.width;
    if (seen && Math.abs(seen - width) > 1) {
      width = seen; // another width: start again from the full size
      el.classList.remove("sdw-fit");
      return requestAnimationFrame(() => fit());
    }
    const excess = box.scrollHeight - box.clientHeight;
    const side = ui.main.img.parentElement.getBoundingClientRect().height;
    if (excess <= 1 || !side || side <= SMALLEST) return;
    frame = Math.max(SMALLEST, Math.floor(side - excess - 1));
    el.style.setProperty("--sdw-fit", `${frame}px`);
    el.classList.add("sdw-fit");
  }

  const observer = new ResizeObserver(fit);
  observer.observe(el);
  return { close: () => observer.disconnect() };
}
