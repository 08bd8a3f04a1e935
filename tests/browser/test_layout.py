"""Layout a customer notices (issue 18): buttons in a row share one height, a
date never breaks across lines, in English, German and Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_offer, make_workspace
from tests.offers.conftest import open_session

pytestmark = pytest.mark.django_db(transaction=True)

# The boxes of every button (or button-like link) in each .actions row.
ROW_BOXES = """() => [...document.querySelectorAll('.actions')].map(row =>
  [...row.querySelectorAll('button, a.button')].map(b => {
    const r = b.getBoundingClientRect();
    return {text: b.innerText, top: r.top, height: r.height, width: r.width};
  }))"""

# The distinct line tops a piece of text covers on the page, for every text node
# holding it (with its no-break spaces and word joiners as rendered).
LINES_OF = """(needle) => {
  const strip = s => s.replace(/[\\u00a0\\u202f]/g, ' ').replace(/\\u2060/g, '');
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, raw = node.data;
    // Map positions in the stripped text back to the raw text.
    const map = []; let plain = '';
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '\\u2060') continue;
      map.push(i); plain += strip(raw[i]);
    }
    const at = plain.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, map[at]);
    range.setEnd(node, map[at + needle.length - 1] + 1);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    found.push(tops.size);
  }
  return found;
}"""


@pytest.fixture
def desktop(chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 760, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def narrow(chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 320, "height": 800}, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def assert_rows_even(page: Any) -> list[list[dict]]:
    rows = page.evaluate(ROW_BOXES)
    assert rows
    for row in rows:
        heights = {round(b["height"]) for b in row}
        assert len(heights) == 1, row
        side_by_side = len({round(b["top"]) for b in row}) == 1
        if side_by_side and len(row) > 1:
            assert len({round(b["width"]) for b in row}) == 1, row
    return rows


@pytest.mark.parametrize("locale", ["en", "de", "zh-hans"])
def test_offer_and_cancel_buttons_share_one_height(live_server, desktop, locale) -> None:
    workspace = make_workspace()
    make_offer(workspace)
    session = open_session(workspace, locale=locale)
    desktop.goto(f"{live_server.url}/c/{session.token}/")
    rows = assert_rows_even(desktop)  # Continue | Cancel my subscription
    assert len(rows[0]) == 2
    desktop.locator("input[name=reason]").first.check()
    desktop.locator("button.primary").click()
    desktop.wait_for_url("**/offer/")
    rows = assert_rows_even(desktop)  # Accept | No thanks, cancel my subscription
    assert len(rows[0]) == 2 and round(rows[0][0]["top"]) == round(rows[0][1]["top"])


def test_a_long_label_makes_both_buttons_taller(live_server, chromium) -> None:
    """Where one label wraps to two lines, the other button grows with it."""
    context = chromium.new_context(viewport={"width": 500, "height": 900})
    page = context.new_page()
    workspace = make_workspace()
    make_offer(workspace)
    session = open_session(workspace, locale="de")
    page.goto(f"{live_server.url}/c/{session.token}/")
    page.locator("input[name=reason]").first.check()
    page.locator("button.primary").click()
    page.wait_for_url("**/offer/")
    [row] = assert_rows_even(page)
    # "Nein danke, mein Abo kündigen" wraps in half of 500 px; "Rabatt annehmen" does not.
    assert row[0]["height"] > 60
    context.close()


@pytest.mark.parametrize(
    ("locale", "dates"),
    [
        ("en", ["January 22, 2027", "February 22, 2027", "December 22, 2026"]),
        ("de", ["22. Januar 2027", "22. Februar 2027", "22. Dezember 2026"]),
        ("zh-hans", ["2027年1月22日", "2027年2月22日", "2026年12月22日"]),
    ],
)
def test_dates_never_break_across_lines(live_server, narrow, locale, dates) -> None:
    workspace = make_workspace()
    make_offer(
        workspace, name="p", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    session = open_session(workspace, locale=locale)
    narrow.goto(f"{live_server.url}/c/{session.token}/")
    narrow.locator("input[name=reason][value=not_using]").check()
    narrow.locator("button.primary").click()
    narrow.wait_for_url("**/offer/")
    for date in dates:
        lines = narrow.evaluate(LINES_OF, date)
        assert lines and set(lines) == {1}, (date, lines)
    # The measure sees a break: the same date with plain spaces in a narrow box.
    narrow.evaluate(
        "() => { const p = document.createElement('p'); p.style.width = '1em';"
        " p.textContent = 'Control 1 2 3'; document.body.append(p); }"
    )
    assert narrow.evaluate(LINES_OF, "Control 1 2 3") == [4]
