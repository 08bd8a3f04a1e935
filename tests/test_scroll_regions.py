"""Every scroll region of every page takes the keyboard focus and has a name
(WCAG 2.1.1: a table that scrolls sideways on a phone must scroll from the
keyboard too). Read from the templates, so a page no test renders is held to it
as well; tests/analytics/test_dashboard_honesty.py checks the rendered dashboard."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ELEMENT = re.compile(r"<(?:div|section)\b([^>]*)>", re.S)


def scroll_regions() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for attributes in ELEMENT.findall(path.read_text(encoding="utf-8")):
            classes = re.search(r'class="([^"]*)"', attributes)
            if classes and "scroll" in classes.group(1).split():
                found.append((path.relative_to(TEMPLATES).as_posix(), attributes))
    return found


def test_every_scroll_region_is_focusable_and_named() -> None:
    regions = scroll_regions()
    pages = {page for page, _ in regions}
    assert {"analytics/dashboard.html", "offers/experiment_detail.html"} <= pages
    unreachable = [
        (page, attributes)
        for page, attributes in regions
        if 'tabindex="0"' not in attributes
        or not re.search(r"aria-label(ledby)?=\"[^\"]+\"", attributes)
    ]
    assert unreachable == []
