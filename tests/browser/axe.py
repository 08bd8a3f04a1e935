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
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => {
    const where = v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(" | ");
    return `${v.id} (${v.impact}): ${v.help} at ${where}`;
  });
}"""


def axe_inject(context: Any) -> None:
    """Load axe-core in every page and frame ``context`` opens."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci` in tests/browser")
    context.add_init_script(path=str(AXE))


def axe_violations(page: Any) -> list[str]:
    """Every axe violation on the page, its frames included (same-origin or not)."""
    page.wait_for_function("() => !!window.axe")
    return list(page.evaluate(RUN))
