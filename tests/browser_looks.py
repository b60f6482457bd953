"""How the widget looks, checked in the browser: the overflow and contrast checks every browser file
uses, and the two looks most files photograph in ``artifacts/``, JupyterLab Dark and a 360 px window
(``dark`` and ``narrow``), each with its checks in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from browser_fixtures import light, settled

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# Everything inside the widget that is wider than its box or sticks out of the widget (or the
# widget out of the window, or of the host's output area). Scrolling strips may scroll; text
# fields scroll their own text by nature.
OVERFLOW = """(root) => {
  const bad = [], box = root.getBoundingClientRect();
  const name = (e) => e.tagName.toLowerCase()
    + (typeof e.className === "string" && e.className ? "." + e.className.split(" ").join(".") : "")
    + (e.getAttribute("aria-label") ? `[${e.getAttribute("aria-label")}]` : "");
  const span = (r) => `${r.left.toFixed(0)}–${r.right.toFixed(0)}`;
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  for (const e of [root, ...root.querySelectorAll("*")]) {
    if (e.closest("svg") && e.tagName.toLowerCase() !== "svg") continue;
    const style = getComputedStyle(e);
    if (style.display === "none" || !e.getClientRects().length) continue;
    const typed = ["input", "textarea", "select"].includes(e.tagName.toLowerCase());
    if (!scrolls(e) && !typed && style.display !== "inline" && e.clientWidth && e.scrollWidth > e.clientWidth + 1)
      bad.push(`${name(e)}: scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}`);
    const r = e.getBoundingClientRect();
    const inStrip = e !== root && e.parentElement.closest(".sdw-filmstrip");
    if (!inStrip && r.width && (r.right > box.right + 1 || r.left < box.left - 1))
      bad.push(`${name(e)}: spans ${span(r)}, the widget ${span(box)}`);
  }
  if (box.right > document.documentElement.clientWidth + 1)
    bad.push(`the widget ends at ${box.right}, past the window`);
  const host = root.parentElement;
  if (host && host.scrollWidth > host.clientWidth + 1)
    bad.push(`the host element: scrollWidth ${host.scrollWidth} > ${host.clientWidth}`);
  return bad;
}"""

# The lowest text contrast (WCAG) among the widget's text, each against the background it is drawn
# on (ancestors' backgrounds composited), with the element that has it.
CONTRAST = """(root) => {
  const canvas = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {
    canvas.clearRect(0, 0, 1, 1);
    canvas.fillStyle = "#000"; canvas.fillStyle = css; canvas.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = canvas.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (e) => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] === 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const linear = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const [r, g, b] = c.slice(0, 3).map(linear);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let worst = { ratio: 99, what: "" };
  for (const e of root.querySelectorAll("*")) {
    if (e.closest("svg")) continue;
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length || getComputedStyle(e).visibility === "hidden") continue;
    const style = getComputedStyle(e);
    if (e.closest('[aria-disabled="true"]')) continue; // disabled controls are exempt (WCAG 1.4.3)
    const bg = background(e), fg = over(rgba(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const what = () => `${e.tagName.toLowerCase()}.${e.className} “${e.textContent.trim().slice(0, 30)}”`
      + ` ${style.color} on rgb(${bg.slice(0, 3).map(Math.round)})`;
    if (ratio < worst.ratio) worst = { ratio, what: what() };
  }
  return worst;
}"""


def centred(widget: Locator) -> None:
    """``widget`` at rest in the middle of the window, clear of the notebook's toolbar (a screenshot
    scrolls only as far as needed, which may leave the widget's top under it)."""
    settled(widget)
    widget.evaluate("el => el.scrollIntoView({ block: 'center' })")
    settled(widget)


def dark(page: Page, widget: Locator, shot: Path, check: Callable[[], None] | None = None) -> None:
    """JupyterLab Dark: every text in ``widget`` at least 4.5:1 against its background (WCAG AA),
    then ``check()`` (a file's own assertions in this theme), then a screenshot to ``shot``. The light
    theme comes back, and is waited for, whatever failed: it is a server-wide setting the next file
    starts from. The window keeps its size; a caller wanting the widget in the middle calls ``centred``."""
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    try:
        settled(widget)
        worst = widget.evaluate(CONTRAST)
        assert worst["ratio"] >= 4.5, f"contrast {worst['ratio']:.2f}:1 in the dark theme at {worst['what']}"
        if check is not None:
            check()
        widget.screenshot(path=str(shot))
    finally:
        light(page)


def narrow(page: Page, widget: Locator, shot: Path, check: Callable[[], None] | None = None, width: int = 360) -> None:
    """A ``width`` px window, 2400 px high to have the whole widget in one picture: nothing in
    ``widget`` cut off or sticking out (``OVERFLOW``), then ``check()`` (a file's own assertions at
    this width), then a screenshot to ``shot``. The window stays narrow: the caller sizes it back."""
    page.set_viewport_size({"width": width, "height": 2400})
    centred(widget)
    # Spelled-out messages: pytest rewrites the asserts of test files only, not this helper's.
    cut = widget.evaluate(OVERFLOW)
    assert cut == [], f"at {width} px: {cut}"
    if check is not None:
        check()
    widget.screenshot(path=str(shot))
