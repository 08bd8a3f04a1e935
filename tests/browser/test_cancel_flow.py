"""A customer completes the cancel flow in a real browser, in both languages."""

from __future__ import annotations

import pytest

from surveys.models import Outcome
from tests.factories import make_offer, make_session, make_workspace
from tests.readable import plain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(live_server):
    workspace = make_workspace()
    make_offer(workspace)
    return workspace


def test_cancel_in_english(live_server, shop, phone) -> None:
    session = make_session(shop, locale="en", return_url=f"{live_server.url}/healthz")
    external: list[str] = []
    local = (live_server.url, "http://127.0.0.1")
    phone.on("request", lambda r: None if r.url.startswith(local) else external.append(r.url))
    phone.goto(f"{live_server.url}/c/{session.token}/")
    assert phone.locator("h1").inner_text() == "Why are you cancelling?"
    phone.get_by_label("I'm switching to another product").check()
    phone.get_by_label("Which one, and what made you choose it?").fill("Moving to Acme")
    phone.get_by_role("button", name="Continue").click()
    assert phone.locator("h1").inner_text() == "Confirm cancellation"
    phone.get_by_role("button", name="Cancel my subscription").click()
    assert phone.locator("h1").inner_text() == "Your subscription is cancelled"
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert session.response.text == "Moving to Acme"
    assert external == []


def test_save_in_chinese(live_server, shop, phone) -> None:
    session = make_session(shop, locale="zh-hans")
    phone.goto(f"{live_server.url}/c/{session.token}/")
    assert phone.locator("h1").inner_text() == "您为什么要取消订阅？"
    phone.get_by_label("价格太贵了").check()
    phone.get_by_role("button", name="继续").click()
    # Measured once the offer page and its style sheet have loaded (a loaded
    # machine measured the buttons unstyled now and then).
    phone.wait_for_url("**/offer/")
    phone.wait_for_load_state("load")
    assert "接下来3个月减免30%" in phone.locator(".terms").inner_text()
    accept = phone.get_by_role("button", name="接受优惠")
    cancel = phone.get_by_role("button", name="不用了，取消我的订阅")
    # The way out is as visible as the offer: same size, both in view.
    accept_box, cancel_box = accept.bounding_box(), cancel.bounding_box()
    assert accept_box and cancel_box
    assert abs(accept_box["height"] - cancel_box["height"]) < 1
    assert abs(accept_box["width"] - cancel_box["width"]) < 1
    assert cancel.is_visible()
    accept.click()
    assert phone.locator("h1").inner_text() == "感谢您继续使用"
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED


def test_works_with_javascript_off(live_server, shop, chromium) -> None:
    session = make_session(shop, locale="en")
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/c/{session.token}/")
    page.get_by_label("It's too expensive").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="No thanks, cancel my subscription").click()
    assert page.locator("h1").inner_text() == "Your subscription is cancelled"
    context.close()
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert session.response.reason_code == "too_expensive"


def test_switch_language_on_the_page(live_server, shop, phone) -> None:
    session = make_session(shop, locale="en")
    phone.goto(f"{live_server.url}/c/{session.token}/")
    phone.get_by_role("button", name="中文").click()
    assert phone.locator("h1").inner_text() == "您为什么要取消订阅？"
    phone.get_by_role("button", name="取消我的订阅").click()
    assert phone.locator("h1").inner_text() == "您的订阅已取消"


def test_pause_with_chosen_months(live_server, phone) -> None:
    from datetime import UTC, datetime

    from surveys.services import CustomerInput, SubscriptionInput, session_open

    workspace = make_workspace()
    make_offer(
        workspace, name="Pause", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    session = session_open(
        workspace=workspace,
        customer=CustomerInput(id="cus_pause", email="p@example.com"),
        subscription=SubscriptionInput(
            id="sub_pause",
            plan="Pro",
            mrr_cents=4900,
            current_period_end=datetime(2026, 12, 22, 12, tzinfo=UTC),
        ),
        locale="en",
    ).session
    phone.goto(f"{live_server.url}/c/{session.token}/")
    phone.get_by_label("I'm not using it enough right now").check()
    phone.get_by_role("button", name="Continue").click()
    # The offer page whole, its style sheet applied: the boxes below are measured
    # (without this, a loaded machine measured them unstyled now and then).
    phone.wait_for_url("**/offer/")
    phone.wait_for_load_state("load")
    months = phone.get_by_role("radio")
    assert months.count() == 3
    for index in range(3):  # nothing is chosen for the customer
        assert not months.nth(index).is_checked()
    accept = phone.get_by_role("button", name="Pause my subscription")
    cancel = phone.get_by_role("button", name="No thanks, cancel my subscription")
    accept_box, cancel_box = accept.bounding_box(), cancel.bounding_box()
    assert accept_box and cancel_box
    assert abs(accept_box["height"] - cancel_box["height"]) < 1
    accept.click()  # no length chosen: the browser asks for one, nothing is accepted
    session.refresh_from_db()
    assert session.outcome == ""
    phone.get_by_label("2 months: pause until February 22, 2027").check()
    accept.click()
    assert phone.locator("h1").inner_text() == "You're staying with us"
    done = plain(phone.locator("main").inner_text())
    assert "Paused for 2 months, until February 22, 2027" in done
    assert "up to" not in done
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED
    assert session.accepted_terms["months"] == 2
    assert session.accepted_terms["resumes_on"] == "2027-02-22"


def test_compliance_mode_cancels_in_two_clicks(live_server, phone) -> None:
    from datetime import UTC, datetime

    from surveys.services import CustomerInput, SubscriptionInput, session_open

    workspace = make_workspace()
    workspace.compliance_mode = True
    workspace.save(update_fields=["compliance_mode"])
    make_offer(workspace)
    session = session_open(
        workspace=workspace,
        customer=CustomerInput(id="cus_de", email="de@example.com"),
        subscription=SubscriptionInput(
            id="sub_de",
            plan="Pro",
            mrr_cents=4900,
            current_period_end=datetime(2027, 1, 31, 12, tzinfo=UTC),
        ),
        locale="en",
    ).session
    phone.goto(f"{live_server.url}/c/{session.token}/")
    entry = phone.get_by_role("link", name="Verträge hier kündigen")
    assert entry.is_visible()
    entry.click()
    assert "Your contract ends on January 31, 2027" in plain(phone.locator("main").inner_text())
    phone.get_by_role("button", name="jetzt kündigen").click()
    assert phone.locator("h1").inner_text() == "Your subscription is cancelled"
    assert "Your contract ends on January 31, 2027." in plain(phone.locator("main").inner_text())
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert not hasattr(session, "response") or session.response is None


def test_compliance_mode_offer_is_optional_and_after_the_cancel_button(live_server, phone) -> None:
    workspace = make_workspace()
    workspace.compliance_mode = True
    workspace.save(update_fields=["compliance_mode"])
    make_offer(workspace)
    session = make_session(workspace, locale="en")
    phone.goto(f"{live_server.url}/c/{session.token}/")
    phone.get_by_label("It's too expensive").check()
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url("**/offer/")
    phone.wait_for_load_state("load")  # measured styled, as above
    confirm = phone.get_by_role("button", name="jetzt kündigen")
    accept = phone.get_by_role("button", name="Accept the discount")
    confirm_box, accept_box = confirm.bounding_box(), accept.bounding_box()
    assert confirm_box and accept_box
    assert confirm_box["y"] < accept_box["y"]  # cancelling comes first
    accept.click()
    assert phone.locator("h1").inner_text() == "You're staying with us"
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED
