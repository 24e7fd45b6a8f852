"""The lowest WCAG 2 contrast ratio of any text on a page, at sampled moments of its animations.

A text's colour and the background behind it are read from Chromium's computed style while every
running animation is held at the sampled moment (the Web Animations API), so a colour mid-way
through a transition is measured as the citizen sees it. Used by the hall page's test and bench
(docs/hall.md: at least 4.5 at every frame).
"""

from __future__ import annotations

# Runs in the page: `at` (ms) holds every animation there, then each element that holds text of
# its own is measured against the first opaque background behind it (semi-transparent ones
# blended in). Returns [ratio, text, colour, background] of the worst element.
_SCRIPT = """(at) => {
  const anims = document.getAnimations();
  for (const a of anims) { a.pause(); a.currentTime = at; }
  const parse = (c) => { const m = c.match(/[\\d.]+/g) || ["0", "0", "0", "0"];
    return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const behind = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; } }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour; };
  let worst = null;
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    const bg = behind(el), fg = over(parse(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (!worst || ratio < worst[0]) worst = [ratio, el.textContent.trim().slice(0, 40),
      getComputedStyle(el).color, `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`];
  }
  for (const a of anims) a.play();
  return worst;
}"""


def lowest_contrast(page, moments_ms: list[float]) -> tuple[float, str, str, str, float]:
    """The worst (ratio, text, colour, background, moment) over the sampled moments."""
    worst = None
    for at in moments_ms:
        found = page.evaluate(_SCRIPT, at)
        if found is not None and (worst is None or found[0] < worst[0]):
            worst = (*found, at)
    if worst is None:
        raise AssertionError("no text on the page to measure")
    return worst


_STYLE_AT = """([selector, property, at]) => {
  const anims = document.getAnimations();
  for (const a of anims) { a.pause(); a.currentTime = at; }
  const value = getComputedStyle(document.querySelector(selector)).getPropertyValue(property);
  for (const a of anims) a.play();
  return value;
}"""


def style_at(page, selector: str, prop: str, at_ms: float) -> str:
    """A computed style of the first element matching `selector`, the animations held at `at_ms`:
    to see that an animation shows at all, not only that it hurts no contrast."""
    return page.evaluate(_STYLE_AT, [selector, prop, at_ms])
