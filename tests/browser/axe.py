"""axe-core (installed from npm into tests/browser/node_modules by ``npm ci``),
injected into every frame of a browser context, and its violations as short
readable lines. The script is added through Playwright, which the pages'
Content-Security-Policy does not govern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
  const result = await window.axe.run(document);
  const violations = result.violations.map((v) => {
    const where = v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(" | ");
    return `${v.id} (${v.impact}): ${v.help} at ${where}`;
  });
  // A node inside a frame has a target of two selectors or more.
  const framed = result.passes.reduce(
    (sum, rule) => sum + rule.nodes.filter((n) => n.target.length > 1).length, 0);
  return { violations, framed };
}"""


def axe_inject(context: Any) -> None:
    """Load axe-core in every page and frame ``context`` opens."""
    if not AXE.exists():
        # Only on a machine without the npm install (a newcomer's first run):
        # `make test` and .ci/run install it, and under REQUIRE_FULL_SUITE (set
        # by .ci/run) any skipped test fails the run (tests/conftest.py).
        pytest.skip("axe-core is not installed: run `npm ci` in tests/browser")
    context.add_init_script(path=str(AXE))
    # By default axe talks only to same-origin frames; the widget's is not.
    context.add_init_script(
        script="window.axe && window.axe.configure({allowedOrigins: ['<unsafe_all_origins>']});"
    )


def axe_run(page: Any) -> dict[str, Any]:
    """``violations``: every axe violation on the page, its frames included
    (same-origin or not); ``framed``: how many nodes inside frames passed."""
    page.wait_for_function("() => !!window.axe")
    return dict(page.evaluate(RUN))


def axe_violations(page: Any) -> list[str]:
    return list(axe_run(page)["violations"])
