"""axe-core's accessibility audit of a page in Chromium, optionally at moments of its animations.

axe-core (npm, fetched with its integrity by scripts/fetch-vendor into tests/vendor/) is given to
the page by the test through the DevTools protocol, so the pages' Content-Security-Policy, which
allows no inline script, stays as it is. Used by tests/system/test_accessibility.py and
`make screens` (rig/screens.py).
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "tests" / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Runs in the page: holds every animation at `at` ms (null: as it runs), audits, lets them go on.
_RUN = """async (at) => {
  const anims = at === null ? [] : document.getAnimations();
  for (const a of anims) { a.pause(); a.currentTime = at; }
  try {
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) }));
  } finally { for (const a of anims) a.play(); }
}"""


def violations(page, at_ms: float | None = None, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """axe's violations of `impacts` on the page as it is (or with its animations held at `at_ms`)."""
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} is missing: run `make test` (scripts/fetch-vendor fetches axe-core)")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return [v for v in page.evaluate(_RUN, at_ms) if v["impact"] in impacts]


def report(found: list[dict]) -> str:
    """The violations for a failing assertion: rule, impact, what to fix, where."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in found)
