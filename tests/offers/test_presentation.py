"""The offer as the customer reads it: terms spelled out from the session, both
languages, one offer, nothing pre-selected, the way out as visible as the offer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from offers.presentation import accepted_text, add_months, format_price, offer_view
from surveys.services import session_answer
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.readable import plain


def test_add_months_keeps_the_day_or_the_last_one() -> None:
    from datetime import date

    assert add_months(date(2026, 12, 22), 2) == date(2027, 2, 22)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_prices_always_show_cents() -> None:
    assert format_price(4900, "USD") == "$49.00"
    assert format_price(123456, "EUR") == "€1,234.56"
    assert plain(format_price(990, "CHF")) == "CHF 9.90"


def test_percent_discount_reads_with_the_price_after(workspace) -> None:
    offer = make_offer(workspace)
    session = open_session(workspace)
    view = offer_view(offer, locale="en", currency="USD", session=session)
    assert view.terms_text == "30% off your next 3 months"
    assert view.summary == "30% off your next 3 months, then $49.00 a month"
    assert [plain(line) for line in view.details] == [
        "You pay $34.30 a month instead of $49.00, from December 22, 2026.",
        "The discount ends on March 22, 2027; from then on you pay $49.00 a month.",
    ]


def test_fixed_discount_downgrade_extension_trial_support(workspace) -> None:
    session = open_session(workspace, mrr_cents=9900, currency="EUR")
    amount = make_offer(
        workspace, name="a", kind="discount_amount", terms={"amount_cents": 1000, "months": 2}
    )
    view = offer_view(amount, locale="en", currency="EUR", session=session)
    assert view.summary == "€10.00 off each of your next 2 months, then €99.00 a month"
    assert "You pay €89.00 a month instead of €99.00, from December 22, 2026." in [
        plain(line) for line in view.details
    ]
    down = make_offer(
        workspace, name="d", kind="downgrade", terms={"plan": "Starter", "price_cents": 1900}
    )
    view = offer_view(down, locale="en", currency="EUR", session=session)
    assert view.summary == "Move to the Starter plan at €19.00 a month instead of €99.00"
    assert [plain(line) for line in view.details] == [
        "The Starter plan starts on December 22, 2026."
    ]
    ext = make_offer(workspace, name="e", kind="extension", terms={"days": 10})
    assert [
        plain(d) for d in offer_view(ext, locale="en", currency="EUR", session=session).details
    ] == ["Your next payment moves from December 22, 2026 to January 1, 2027."]
    trial = make_offer(workspace, name="t", kind="trial_extension", terms={"days": 7})
    view = offer_view(trial, locale="en", currency="EUR", session=session)
    assert view.terms_text == "Your trial extended by 7 days"
    assert [plain(line) for line in view.details] == [
        "Your trial now ends on December 29, 2026 instead of December 22, 2026."
    ]
    support = make_offer(workspace, name="s", kind="support", terms={})
    assert offer_view(support, locale="en", currency="EUR", session=session).accept_label == (
        "Yes, contact me"
    )


def test_pause_offers_each_length_with_its_date_and_none_chosen(workspace) -> None:
    offer = make_offer(workspace, name="p", kind="pause", terms={"max_months": 3, "min_months": 2})
    session = open_session(workspace)
    view = offer_view(offer, locale="en", currency="USD", session=session)
    assert [(c.months, c.until) for c in view.pause_choices] == [
        (2, "2027-02-22"),
        (3, "2027-03-22"),
    ]
    assert plain(view.pause_choices[0].label) == "2 months: pause until February 22, 2027"


def test_dates_start_today_without_a_period_end(workspace) -> None:
    offer = make_offer(workspace, name="p", kind="pause", terms={"max_months": 1})
    session = open_session(workspace, current_period_end=None)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    view = offer_view(offer, locale="en", currency="USD", session=session, now=now)
    assert view.pause_choices[0].until == "2026-12-23"


def test_chinese_copy(workspace) -> None:
    offer = make_offer(workspace)
    session = open_session(workspace, locale="zh-hans")
    view = offer_view(offer, locale="zh-hans", currency="USD", session=session)
    assert view.title == "优惠价继续使用"
    assert view.terms_text == "接下来3个月减免30%"
    assert view.summary.startswith("接下来3个月减免30%")
    assert view.accept_label == "接受优惠"


def test_accepted_text() -> None:
    pause = {"kind": "pause", "max_months": 3, "months": 2, "resumes_on": "2027-02-22"}
    assert plain(accepted_text(pause, locale="en", currency="USD")) == (
        "Paused for 2 months, until February 22, 2027"
    )
    assert plain(accepted_text(pause, locale="zh-hans", currency="USD")) == (
        "暂停 2 个月，至 2027年2月22日"
    )
    assert plain(accepted_text(pause, locale="de", currency="USD")) == (
        "Pausiert für 2 Monate, bis zum 22. Februar 2027"
    )
    one = {**pause, "months": 1}
    assert plain(accepted_text(one, locale="en", currency="USD")).startswith("Paused for 1 month,")
    discount = {"kind": "discount_percent", "percent": 30, "months": 3, "ends_on": "2027-03-22"}
    assert plain(accepted_text(discount, locale="en", currency="USD")) == (
        "30% off your next 3 months, until March 22, 2027"
    )
    downgrade = {
        "kind": "downgrade",
        "plan": "Starter",
        "price_cents": 1900,
        "starts_on": "2026-12-22",
        "currency": "EUR",
    }
    assert plain(accepted_text(downgrade, locale="de", currency="USD")) == (
        "Ab dem 22. Dezember 2026 im Tarif Starter für 19,00 € im Monat"
    )
    assert accepted_text({}, locale="en", currency="USD") == ""


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_offer_page_shows_terms_before_accepting_and_an_equal_way_out(client, workspace) -> None:
    make_offer(workspace)
    session = open_session(workspace)
    session_answer(token=session.token, reason_code="too_expensive")
    html = plain(client.get(f"/c/{session.token}/offer/").content.decode())
    assert "30% off your next 3 months, then $49.00 a month" in html
    assert "The discount ends on March 22, 2027" in html
    assert html.count(f'action="/c/{session.token}/accept/"') == 1  # one offer
    assert 'class="primary"' in html and "No thanks, cancel my subscription" in html
    assert " checked" not in html


def test_pause_page_preselects_nothing_and_asks_for_months(client, workspace) -> None:
    offer = make_offer(
        workspace, name="p", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    session = open_session(workspace)
    session_answer(token=session.token, reason_code="not_using")
    html = plain(client.get(f"/c/{session.token}/offer/").content.decode())
    assert html.count('name="months"') == 3
    assert " checked" not in html and "selected" not in html
    assert "1 month: pause until January 22, 2027" in html
    missing = client.post(f"/c/{session.token}/accept/", {"offer": offer.pk})
    assert missing.status_code == 422
    assert "Please choose how many months to pause." in missing.content.decode()
    done = client.post(f"/c/{session.token}/accept/", {"offer": offer.pk, "months": "2"})
    assert done["Location"] == f"/c/{session.token}/done/"
    html = plain(client.get(f"/c/{session.token}/done/").content.decode())
    assert "Paused for 2 months, until February 22, 2027" in html
    assert "up to" not in html
    session.refresh_from_db()
    assert session.accepted_terms["resumes_on"] == "2027-02-22"


def test_compliance_mode_puts_cancelling_first(client, workspace) -> None:
    workspace.compliance_mode = True
    workspace.save(update_fields=["compliance_mode"])
    make_offer(workspace)
    session = open_session(workspace)
    survey = client.get(f"/c/{session.token}/").content.decode()
    assert "Verträge hier kündigen" in survey
    assert survey.index("Verträge hier kündigen") < survey.index('name="reason"')
    # The entry button leads straight to the confirmation, no answer needed.
    confirm = client.get(f"/c/{session.token}/offer/")
    assert confirm.status_code == 200
    html = plain(confirm.content.decode())
    assert "jetzt kündigen" in html
    assert "Your contract ends on December 22, 2026" in html
    # Answered with an offer: the offer is there, after the cancel button.
    session_answer(token=session.token, reason_code="too_expensive")
    html = client.get(f"/c/{session.token}/offer/").content.decode()
    assert html.index("jetzt kündigen") < html.index("Accept the discount")
    client.post(f"/c/{session.token}/cancel/")
    done = plain(client.get(f"/c/{session.token}/done/").content.decode())
    assert "Your contract ends on December 22, 2026." in done
    assert "We received your cancellation on" in done


def test_a_view_made_once_is_reused_and_never_stale(workspace) -> None:
    """Views are kept by all they read (offer content, language, currency, MRR,
    start date): a change of any gives a new view, the same again the kept one,
    and a caller changing its copy changes no one else's."""
    from offers.models import Offer
    from offers.presentation import OFFER_VIEWS

    OFFER_VIEWS.clear()
    offer = make_offer(workspace)
    session = open_session(workspace)
    first = offer_view(offer, locale="en", currency="USD", session=session)
    again = offer_view(offer, locale="en", currency="USD", session=session)
    assert again == first and again is not first
    again.terms["percent"] = 99  # this caller's own copy
    assert offer_view(offer, locale="en", currency="USD", session=session).terms["percent"] == 30
    assert offer_view(offer, locale="zh-hans", currency="USD", session=session).title != (
        first.title
    )
    assert "€" in offer_view(offer, locale="en", currency="EUR", session=session).summary
    session.mrr_cents = 10000
    assert "$100.00" in offer_view(offer, locale="en", currency="USD", session=session).summary
    Offer.objects.filter(pk=offer.pk).update(terms={"percent": 50, "months": 3})
    offer.refresh_from_db()
    changed = offer_view(offer, locale="en", currency="USD", session=session)
    assert changed.terms_text == "50% off your next 3 months"
