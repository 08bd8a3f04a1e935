"""Outcomes applied in Stripe: stripe-python talks to a local server that records
every call, never to the internet. Each kind makes exactly the calls it should;
failures retry through the delivery machinery or end dead and visible, and the
outcome itself never changes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from config.errors import Invalid
from offers.stripe_billing import StripeOutcome, stripe_client
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from outbound.services import delivery_attempt
from surveys.models import CancelSession, Outcome
from surveys.services import session_accept, session_answer, session_cancel, sessions_abandon_stale
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.offers.stripe_server import FakeStripe
from workspaces.models import Workspace

KEY = "rk_test_51Hq8Zcancelflow0001"


@pytest.fixture
def stripe_api(settings: Any) -> Iterator[FakeStripe]:
    fake = FakeStripe.start()
    settings.STRIPE_API_BASE = fake.url
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True  # the fake is on loopback
    settings.DELIVERY_RETRY_DELAYS = [0, 0, 0]
    settings.OUTBOUND_TIMEOUT_SECONDS = 5
    yield fake
    fake.stop()


@pytest.fixture
def billed(workspace: Workspace) -> Workspace:
    workspace.stripe_enabled = True
    workspace.stripe_secret_key = KEY
    workspace.save(update_fields=["stripe_enabled", "stripe_secret_key"])
    return workspace


def decide(
    capture: Any,
    workspace: Workspace,
    *,
    reason: str = "too_expensive",
    text: str = "",
    accept: Any = None,
    months: int | None = None,
    **session: Any,
) -> CancelSession:
    """A customer answers, then accepts ``accept`` or cancels; the outcome's
    tasks run as they would after the commit."""
    session.setdefault("subscription_id", "sub_1001")
    opened = open_session(workspace, **session)
    with capture(execute=True):
        if reason:
            session_answer(token=opened.token, reason_code=reason, text=text)
        if accept is not None:
            session_accept(token=opened.token, offer_id=accept.pk, months=months)
        else:
            session_cancel(token=opened.token)
    return CancelSession.objects.get(pk=opened.pk)


def billing_delivery() -> Delivery:
    return Delivery.objects.get(kind="stripe")


def retry_until_done(delivery: Delivery) -> Delivery:
    for _ in range(10):
        delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def attempts(delivery: Delivery) -> list[tuple[int, bool, int | None]]:
    return list(delivery.attempt_log.values_list("number", "ok", "status_code"))


def event_id(session: CancelSession) -> str:
    return OutboxEvent.objects.get(subject_id=session.pk).event_id


def at(*args: int) -> str:
    return str(int(datetime(*args, tzinfo=UTC).timestamp()))


def assert_sent_once(delivery: Delivery) -> None:
    assert delivery.status == DeliveryStatus.SENT
    assert attempts(delivery) == [(1, True, 200)]


# --- What each outcome does in Stripe ----------------------------------------------------


def test_a_percent_discount_makes_a_coupon_and_puts_it_on_the_subscription(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(billed)  # 30% for 3 months, shown for price
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert session.outcome == Outcome.SAVED
    msg = event_id(session)
    assert stripe_api.requests() == [
        ("POST", "/v1/coupons"),
        ("GET", "/v1/subscriptions/sub_1001"),
        ("POST", "/v1/subscriptions/sub_1001"),
    ]
    coupon, read, subscription = stripe_api.calls
    assert read.form == {"expand[0]": "discounts"}
    assert coupon.form == {
        "id": f"cancelflow_{msg}",
        "percent_off": "30",
        "duration": "repeating",
        "duration_in_months": "3",
        "name": "30% off for 3 months",
        "metadata[cancelflow_session]": str(session.pk),
    }
    assert subscription.form == {"discounts[0][coupon]": f"cancelflow_{msg}"}
    assert [c.headers["Authorization"] for c in stripe_api.calls] == [f"Bearer {KEY}"] * 3
    assert coupon.idempotency_key == f"cancelflow-{msg}-coupon"
    assert subscription.idempotency_key == f"cancelflow-{msg}-subscription"
    assert_sent_once(billing_delivery())


def test_an_amount_discount_is_a_coupon_in_the_subscriptions_currency(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(
        billed, name="€10 off", kind="discount_amount", terms={"amount_cents": 1000, "months": 2}
    )
    decide(django_capture_on_commit_callbacks, billed, accept=offer, currency="EUR")
    coupon = stripe_api.calls[0]
    assert {
        k: v for k, v in coupon.form.items() if k not in ("id", "metadata[cancelflow_session]")
    } == {
        "amount_off": "1000",
        "currency": "eur",
        "duration": "repeating",
        "duration_in_months": "2",
        "name": "€10 off",
    }
    assert stripe_api.calls[2].form == {"discounts[0][coupon]": coupon.form["id"]}


def test_a_discount_keeps_the_discounts_the_subscription_had(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    # Stripe sets the list to what is sent: sending the coupon alone would drop
    # the customer's other discounts (a partner deal, say) without a word.
    stripe_api.discounts = [
        {"id": "di_partner", "coupon": "partner20"},
        {"id": "di_launch", "coupon": "launch5"},
    ]
    offer = make_offer(billed)
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert stripe_api.calls[-1].form == {
        "discounts[0][discount]": "di_partner",
        "discounts[1][discount]": "di_launch",
        "discounts[2][coupon]": f"cancelflow_{event_id(session)}",
    }
    assert_sent_once(billing_delivery())


def test_a_discount_already_on_the_subscription_is_not_added_again(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    # A try whose answer was lost applied it, and Stripe has forgotten the key.
    offer = make_offer(billed)
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    first = len(stripe_api.calls)
    stripe_api.discounts = [
        {"id": "di_partner", "coupon": "partner20"},
        {"id": "di_ours", "coupon": f"cancelflow_{event_id(session)}"},
    ]
    delivery = billing_delivery()
    outcome = StripeOutcome(
        stripe_client(KEY), data=delivery.event.payload["data"], event_id=event_id(session)
    )
    assert outcome.apply() == 200
    assert stripe_api.requests()[first:] == [
        ("POST", "/v1/coupons"),
        ("GET", "/v1/subscriptions/sub_1001"),
    ]


def test_an_amount_in_a_zero_decimal_currency_is_sent_in_whole_units(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    # Amounts are kept in hundredths for every currency (¥500 is 50000, as shown);
    # Stripe counts yen whole.
    offer = make_offer(
        billed, name="¥500 off", kind="discount_amount", terms={"amount_cents": 50000, "months": 1}
    )
    decide(django_capture_on_commit_callbacks, billed, accept=offer, currency="JPY")
    coupon = stripe_api.calls[0]
    assert (coupon.form["amount_off"], coupon.form["currency"]) == ("500", "jpy")


def test_a_pause_stops_collection_until_the_chosen_resume_date(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(
        billed, name="Pause", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    session = decide(
        django_capture_on_commit_callbacks, billed, reason="not_using", accept=offer, months=2
    )
    assert session.accepted_terms["resumes_on"] == "2027-02-22"
    assert stripe_api.requests() == [("POST", "/v1/subscriptions/sub_1001")]
    # The period ends 2026-12-22 12:00 UTC; two months on, at the same moment.
    assert stripe_api.calls[0].form == {
        "pause_collection[behavior]": "void",
        "pause_collection[resumes_at]": at(2027, 2, 22, 12),
    }
    assert_sent_once(billing_delivery())


def starter_downgrade(workspace: Workspace, stripe_price: str = "price_starter") -> Any:
    return make_offer(
        workspace,
        name="Starter",
        kind="downgrade",
        terms={"plan": "Starter", "price_cents": 1900, "stripe_price": stripe_price},
    )


def test_a_downgrade_moves_the_subscriptions_item_to_the_offers_price(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = starter_downgrade(billed)
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert stripe_api.requests() == [
        ("GET", "/v1/subscriptions/sub_1001"),
        ("POST", "/v1/subscriptions/sub_1001"),
    ]
    assert stripe_api.calls[1].form == {
        "items[0][id]": "si_pro",
        "items[0][price]": "price_starter",
        "proration_behavior": "none",
    }
    assert_sent_once(billing_delivery())


def seats_item(item_id: str = "si_seats", price: str = "price_seats") -> dict[str, Any]:
    product = "prod_seats" if price == "price_seats" else "prod_app"
    return {"id": item_id, "price": {"id": price, "object": "price", "product": product}}


def test_a_downgrade_of_a_plan_with_add_ons_moves_the_item_of_the_prices_product(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.items = [seats_item(), *stripe_api.items]  # seats first, then the plan
    offer = starter_downgrade(billed)
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert stripe_api.requests() == [
        ("GET", "/v1/subscriptions/sub_1001"),
        ("GET", "/v1/prices/price_starter"),
        ("POST", "/v1/subscriptions/sub_1001"),
    ]
    assert stripe_api.calls[2].form == {
        "items[0][id]": "si_pro",
        "items[0][price]": "price_starter",
        "proration_behavior": "none",
    }
    assert_sent_once(billing_delivery())


@pytest.mark.parametrize(
    ("items", "found"),
    [
        ([seats_item("si_pro_2", "price_pro")], 2),  # two items of the plan's product
        ([], 0),  # the plan's product is not on the subscription: seats only
    ],
)
def test_a_downgrade_with_no_single_item_of_the_prices_product_is_dead_and_says_why(
    billed, stripe_api, django_capture_on_commit_callbacks, items, found
) -> None:
    if found:
        stripe_api.items = [*stripe_api.items, *items, seats_item()]
    else:
        stripe_api.items = [seats_item(), seats_item("si_seats_2")]
    offer = starter_downgrade(billed)
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    delivery = billing_delivery()
    assert delivery.status == DeliveryStatus.DEAD
    assert f"has {found} items of product prod_app" in delivery.last_error
    assert [m for m, _ in stripe_api.requests()] == ["GET", "GET"]  # nothing changed


def test_a_downgrade_to_a_price_stripe_does_not_know_is_dead_with_stripes_message(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.items = [*stripe_api.items, seats_item()]  # needs the price's product
    offer = starter_downgrade(billed, stripe_price="price_gone")
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    delivery = billing_delivery()
    assert delivery.status == DeliveryStatus.DEAD
    assert "No such price: 'price_gone'" in delivery.last_error
    assert attempts(delivery) == [(1, False, 404)]
    assert [m for m, _ in stripe_api.requests()] == ["GET", "GET"]  # nothing changed


def test_an_extension_moves_the_next_payment(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(billed, name="A month on us", kind="extension", terms={"days": 30})
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert session.accepted_terms["extended_until"] == "2027-01-21"
    assert stripe_api.calls[0].form == {
        "trial_end": at(2027, 1, 21, 12),
        "proration_behavior": "none",
    }


def test_a_cancellation_ends_at_period_end_with_the_reason_and_the_customers_words(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    session = decide(
        django_capture_on_commit_callbacks, billed, reason="switching", text="Moving to Globex"
    )
    assert session.outcome == Outcome.CANCELLED
    assert stripe_api.requests() == [("POST", "/v1/subscriptions/sub_1001")]
    assert stripe_api.calls[0].form == {
        "cancel_at_period_end": "true",
        "cancellation_details[feedback]": "switched_service",
        "cancellation_details[comment]": "Moving to Globex",
    }
    assert stripe_api.calls[0].idempotency_key == f"cancelflow-{event_id(session)}-subscription"
    assert_sent_once(billing_delivery())


def test_a_long_comment_is_cut_to_stripes_limit(
    billed, stripe_api, settings, django_capture_on_commit_callbacks
) -> None:
    settings.RESPONSE_TEXT_MAX_LENGTH = 6000
    decide(django_capture_on_commit_callbacks, billed, reason="other", text="why " * 1500)
    form = stripe_api.calls[0].form
    assert form["cancellation_details[feedback]"] == "other"
    assert len(form["cancellation_details[comment]"]) == 5000


def test_cancelling_without_an_answer_sends_no_details(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    decide(django_capture_on_commit_callbacks, billed, reason="")
    assert stripe_api.calls[0].form == {"cancel_at_period_end": "true"}


def test_the_session_metadata_names_the_stripe_subscription(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    decide(
        django_capture_on_commit_callbacks,
        billed,
        subscription_id="acct-42/plan-7",
        metadata={"stripe_subscription_id": "sub_real"},
    )
    assert stripe_api.requests() == [("POST", "/v1/subscriptions/sub_real")]


# --- When nothing is applied -----------------------------------------------------------


def test_a_workspace_without_stripe_makes_no_call(
    workspace, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(workspace)
    decide(django_capture_on_commit_callbacks, workspace, accept=offer)
    decide(django_capture_on_commit_callbacks, workspace, subscription_id="sub_1002")
    assert stripe_api.calls == []
    assert not Delivery.objects.filter(kind="stripe").exists()


def test_a_support_callback_and_an_abandoned_session_change_no_billing(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(billed, name="Call me", kind="support", terms={})
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    stale = open_session(billed, subscription_id="sub_1003")
    with django_capture_on_commit_callbacks(execute=True):
        sessions_abandon_stale(now=datetime(2100, 1, 1, tzinfo=UTC))
    assert CancelSession.objects.get(pk=stale.pk).outcome == Outcome.ABANDONED
    assert stripe_api.calls == []
    assert not Delivery.objects.filter(kind="stripe").exists()


def test_a_downgrade_without_a_stripe_price_is_refused_when_saved(billed) -> None:
    with pytest.raises(Invalid) as refused:
        make_offer(billed, kind="downgrade", terms={"plan": "Starter", "price_cents": 1900})
    assert "stripe_price" in refused.value.fields["terms"]


def test_a_downgrade_made_before_stripe_was_on_fails_clearly(
    workspace, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(workspace, kind="downgrade", terms={"plan": "Starter", "price_cents": 1900})
    workspace.stripe_enabled, workspace.stripe_secret_key = True, KEY
    workspace.save(update_fields=["stripe_enabled", "stripe_secret_key"])
    session = decide(django_capture_on_commit_callbacks, workspace, accept=offer)
    delivery = billing_delivery()
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "has no stripe_price" in delivery.last_error
    assert stripe_api.calls == []
    assert session.outcome == Outcome.SAVED


def test_a_host_subscription_id_that_is_not_stripes_is_dead_with_a_hint(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    decide(django_capture_on_commit_callbacks, billed, subscription_id="subs_internal_9")
    delivery = billing_delivery()
    assert delivery.status == DeliveryStatus.DEAD
    assert "not a Stripe subscription id" in delivery.last_error
    assert "stripe_subscription_id" in delivery.last_error
    assert stripe_api.calls == []


# --- Failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_passing_failure_is_retried_with_the_same_key_and_the_outcome_stays(
    billed, stripe_api, status, django_capture_on_commit_callbacks
) -> None:
    stripe_api.fail(status, type="api_error" if status != 429 else "invalid_request_error")
    session = decide(django_capture_on_commit_callbacks, billed, text="too much")
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.SENT
    assert attempts(delivery) == [(1, False, status), (2, True, 200)]
    assert len(stripe_api.calls) == 2
    first, second = stripe_api.calls
    assert first.idempotency_key == second.idempotency_key is not None
    assert first.form == second.form
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def test_a_retried_discount_never_makes_a_second_coupon(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    offer = make_offer(billed)
    stripe_api.fail(500)  # the coupon call fails
    decide(django_capture_on_commit_callbacks, billed, accept=offer)
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.SENT
    coupons = [c for c in stripe_api.calls if c.path == "/v1/coupons"]
    assert len(coupons) == 2
    assert coupons[0].idempotency_key == coupons[1].idempotency_key
    assert coupons[0].form["id"] == coupons[1].form["id"]


def test_a_failed_read_of_the_discounts_is_retried_and_keeps_them(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.discounts = [{"id": "di_partner", "coupon": "partner20"}]
    offer = make_offer(billed)
    # The coupon is made, then reading the subscription's discounts fails once.
    stripe_api.fail(503, "Try again.", on="GET /v1/subscriptions/")
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.SENT
    assert attempts(delivery) == [(1, False, 503), (2, True, 200)]
    coupons = [c for c in stripe_api.calls if c.path == "/v1/coupons"]
    assert len(coupons) == 2 and coupons[0].idempotency_key == coupons[1].idempotency_key
    assert stripe_api.calls[-1].form == {
        "discounts[0][discount]": "di_partner",
        "discounts[1][coupon]": f"cancelflow_{event_id(session)}",
    }


def test_a_coupon_made_by_a_lost_try_is_reused(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    # Stripe forgets idempotency keys after a day; the coupon's own id still holds.
    offer = make_offer(billed)
    stripe_api.fail(
        400,
        "Coupon already exists.",
        type="invalid_request_error",
        code="resource_already_exists",
    )
    session = decide(django_capture_on_commit_callbacks, billed, accept=offer)
    assert_sent_once(billing_delivery())
    assert stripe_api.calls[2].form == {"discounts[0][coupon]": f"cancelflow_{event_id(session)}"}


def test_a_missing_subscription_is_dead_at_once_with_stripes_message(
    billed, stripe_api, api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.fail(
        404,
        "No such subscription: 'sub_gone'",
        type="invalid_request_error",
        code="resource_missing",
    )
    session = decide(django_capture_on_commit_callbacks, billed, subscription_id="sub_gone")
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.DEAD
    assert attempts(delivery) == [(1, False, 404)]
    assert len(stripe_api.calls) == 1
    dead = api.get("/api/v1/deliveries?status=dead").json()
    assert [(d["kind"], d["attempts"]) for d in dead] == [("stripe", 1)]
    assert dead[0]["last_error"] == (
        "Stripe 404 resource_missing: No such subscription: 'sub_gone' (request req_1)"
    )
    assert dead[0]["attempt_log"][0]["error"] == dead[0]["last_error"]
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def test_a_bad_key_is_dead_and_a_retry_by_hand_after_fixing_it_applies_the_outcome(
    billed, stripe_api, api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.fail(401, "Invalid API Key provided: rk_test_****0001", type="invalid_request_error")
    decide(django_capture_on_commit_callbacks, billed)
    delivery = billing_delivery()
    assert delivery.status == DeliveryStatus.DEAD
    assert "Stripe 401: Invalid API Key provided" in delivery.last_error
    billed.stripe_secret_key = "rk_test_fixed"
    billed.save(update_fields=["stripe_secret_key"])
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/deliveries/{delivery.pk}/retry")
    assert retried.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert attempts(delivery) == [(1, False, 401), (2, True, 200)]
    first, second = stripe_api.calls
    assert second.headers["Authorization"] == "Bearer rk_test_fixed"
    assert second.idempotency_key == first.idempotency_key


def test_a_refused_parameter_is_permanent(
    billed, stripe_api, django_capture_on_commit_callbacks
) -> None:
    stripe_api.fail(
        400, "Invalid timestamp: must be in the future", type="invalid_request_error", code="x"
    )
    decide(django_capture_on_commit_callbacks, billed)
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "Invalid timestamp: must be in the future" in delivery.last_error


@pytest.mark.parametrize("base", ["", "http://[64:ff9b::7f00:1]", "http://[::ffff:127.0.0.1]"])
def test_a_non_public_stripe_base_is_refused_at_once(
    billed, stripe_api, settings, django_capture_on_commit_callbacks, base
) -> None:
    """STRIPE_API_BASE goes through the outbound guard, as webhooks do: with
    private targets not allowed, the local fake (or a NAT64 or mapped form of
    loopback) is never called and the delivery is dead at once, with the reason."""
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    if base:
        settings.STRIPE_API_BASE = base
    session = decide(django_capture_on_commit_callbacks, billed)
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "non-public address" in delivery.last_error
    assert stripe_api.calls == []
    assert CancelSession.objects.get(pk=session.pk).outcome == Outcome.CANCELLED


def test_stripe_unreachable_is_retried_until_dead(
    billed, stripe_api, settings, django_capture_on_commit_callbacks
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    session = decide(django_capture_on_commit_callbacks, billed)
    delivery = retry_until_done(billing_delivery())
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == 4  # the first try and three retries
    assert delivery.last_error.startswith("Stripe unreachable")
    assert CancelSession.objects.get(pk=session.pk).outcome == Outcome.CANCELLED


def test_an_apply_whose_worker_died_is_sent_again_by_the_sweeper_with_the_same_key(
    billed, stripe_api, django_capture_on_commit_callbacks, settings
) -> None:
    """The worker was killed after Stripe applied the cancellation but before the
    result was recorded: the row stays in flight, the sweeper queues it again (by
    kind, so the workspace's key is loaded with it) and Stripe sees the same
    idempotency key, so the subscription is changed once."""
    from datetime import timedelta

    from django.utils import timezone

    from outbound.services import deliveries_sweep

    session = decide(django_capture_on_commit_callbacks, billed, text="too much")
    delivery = billing_delivery()
    assert_sent_once(delivery)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.IN_FLIGHT,
        updated_at=timezone.now() - timedelta(seconds=settings.DELIVERY_STALE_AFTER_SECONDS + 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = deliveries_sweep()
    assert result.rescued == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    first, again = stripe_api.calls
    assert (
        first.idempotency_key
        == again.idempotency_key
        == f"cancelflow-{event_id(session)}-subscription"
    )
    assert first.form == again.form
