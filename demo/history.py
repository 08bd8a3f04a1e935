"""Believable past cancel sessions for the demo workspace, bulk-inserted.

The mix follows what exit surveys usually show: price and "not using it" lead,
cheaper plans leave over price more, bigger plans over missing features and
competitors; about one session in eight is abandoned; a fitting offer saves
roughly one customer in four, and a few customers who answer keep their
subscription without an offer (in the experiment's no-offer arm too, so its
control has a real cancel rate). The workspace's experiments start when the
history does.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from analytics.demo import subscriber_counts_demo
from analytics.services import rollups_rebuild
from demo.verbatims import VERBATIMS
from offers.models import (
    Experiment,
    Offer,
    SubscriptionEvent,
    SubscriptionEventSource,
    SubscriptionEventType,
    pause_bounds,
)
from offers.saves import save_cancellations_refresh
from offers.selectors import CustomerHistory, offer_pick
from offers.services import accepted_terms_for
from offers.subscription_events import SubscriptionEventInput, subscription_event_fingerprint
from surveys.locales import localized
from surveys.models import (
    CancelSession,
    CategorySource,
    Outcome,
    Reason,
    Response,
    SessionStatus,
)
from surveys.rules import SessionFacts, tenure_days
from surveys.services import classifier_train, responses_recategorize
from workspaces.models import Workspace

# The demo history's customers (cus_hist_0000001, …): how a workspace's history is told apart.
HISTORY_CUSTOMER_PREFIX = "cus_hist_"

PLANS = [
    ("Starter", 1900, 0.45),
    ("Pro", 4900, 0.35),
    ("Team", 9900, 0.15),
    ("Business", 29900, 0.05),
]

# Weights of each reason code per plan tier (index into PLANS).
REASON_WEIGHTS = {
    "too_expensive": (34, 24, 16, 12),
    "not_using": (24, 20, 14, 8),
    "switching": (8, 12, 18, 22),
    "missing_feature": (6, 12, 18, 22),
    "quality": (7, 9, 11, 12),
    "too_complex": (8, 7, 5, 4),
    "support": (4, 5, 7, 9),
    "values": (2, 2, 2, 2),
    "other": (7, 9, 9, 9),
}


def verbatim(rng: random.Random, locale: str, code: str) -> str:
    """A customer's words for a reason, in one of many phrasings."""
    return rng.choice(VERBATIMS[locale].get(code) or VERBATIMS[locale]["other"])


@dataclass(frozen=True)
class HistoryResult:
    sessions: int
    responses: int
    subscription_events: int = 0


# How likely a customer saved by each kind of offer is to cancel within about
# three months anyway (a pause often ends in a cancellation when it runs out).
LATER_CANCEL = {
    "discount_percent": 0.3,
    "discount_amount": 0.3,
    "pause": 0.4,
    "downgrade": 0.18,
    "extension": 0.35,
    "trial_extension": 0.35,
    "support": 0.25,
}


def history_events(
    session: CancelSession, *, rng: random.Random, now: datetime
) -> list[SubscriptionEvent]:
    """What the host would have posted about a saved customer since the save: some
    cancel anyway (most within three months, a few later), some have a payment fail
    (and most of those pay again), the rest renew each month. Only what has
    happened by ``now``."""
    if session.outcome != Outcome.SAVED or session.completed_at is None:
        return []
    saved_at = session.completed_at
    kind = session.offer.kind if session.offer is not None else ""
    found: list[tuple[str, datetime]] = []
    cancel_at = None
    if rng.random() < LATER_CANCEL.get(kind, 0.25):
        # Mostly soon after the save, some at the end of a discount or a pause.
        cancel_at = saved_at + timedelta(days=rng.triangular(2, 150, 35), hours=rng.random() * 24)
    renew = saved_at + timedelta(days=30)
    while renew < now and (cancel_at is None or renew < cancel_at):
        found.append((SubscriptionEventType.RENEWED, renew))
        renew += timedelta(days=30)
    if rng.random() < 0.08:
        failed = saved_at + timedelta(days=rng.uniform(5, 80))
        found.append((SubscriptionEventType.PAYMENT_FAILED, failed))
        if rng.random() < 0.7:
            found.append((SubscriptionEventType.REACTIVATED, failed + timedelta(days=3)))
    if cancel_at is not None:
        found.append((SubscriptionEventType.CANCELLED, cancel_at))
    events = []
    for n, (kind_, moment) in enumerate(sorted(found, key=lambda e: e[1])):
        if moment >= now:
            break
        posted = SubscriptionEventInput(
            id=f"evt_hist_{session.subscription_id}_{n}",
            subscription=session.subscription_id,
            type=kind_,
            occurred_at=moment,
        )
        events.append(
            SubscriptionEvent(
                workspace_id=session.workspace_id,
                event_id=posted.id,
                subscription_id=posted.subscription,
                type=posted.type,
                occurred_at=posted.occurred_at,
                source=SubscriptionEventSource.API,
                request_fingerprint=subscription_event_fingerprint(posted),
            )
        )
    return events


def _weighted(rng: random.Random, items: list, weights: list[float]) -> object:
    return rng.choices(items, weights=weights, k=1)[0]


# Of the customers who answer and take no offer, how many keep their subscription
# anyway ("keep my subscription"); a few more when no offer was shown at all.
KEEP_RATE_AFTER_OFFER = 0.04
KEEP_RATE_WITHOUT_OFFER = 0.08


def _save_rate(offer: Offer) -> float:
    """How often each kind of offer saves a customer in the demo history; deeper
    discounts save a little more."""
    if offer.kind == "discount_percent":
        return 0.12 + int(offer.terms.get("percent", 0)) / 200
    return {"pause": 0.34, "downgrade": 0.2, "discount_amount": 0.22}.get(offer.kind, 0.15)


def history_rows(
    *, workspace: Workspace, count: int, days: int, rng: random.Random, now: datetime
) -> Iterator[tuple[CancelSession, Response | None]]:
    survey = workspace.surveys.get(is_default=True)
    reasons = {r.code: r for r in Reason.objects.filter(survey=survey, is_active=True)}
    # Offers come from the workspace's own targeting rules and experiments, the
    # way the flow picks them (so experiment arms are assigned the same way).
    workspace.refresh_from_db(fields=["config_version"])
    codes = [code for code in REASON_WEIGHTS if code in reasons]
    plan_weights = [weight for _name, _mrr, weight in PLANS]
    span = timedelta(days=days).total_seconds()
    for index in range(count):
        tier = _weighted(rng, list(range(len(PLANS))), plan_weights)
        assert isinstance(tier, int)
        plan, base_mrr, _w = PLANS[tier]
        # Recent months a little busier; weekdays busier than weekends.
        offset = span * (rng.random() ** 1.15)
        created = now - timedelta(seconds=offset)
        if created.weekday() >= 5 and rng.random() < 0.3:
            created -= timedelta(days=2)
        locale = "zh-hans" if rng.random() < 0.3 else "en"
        seats = 1 if tier == 0 else rng.randint(1, 4)
        mrr = base_mrr * seats
        customer = f"{HISTORY_CUSTOMER_PREFIX}{index:07d}"
        session = CancelSession(
            workspace=workspace,
            survey=survey,
            survey_version=survey.version,
            token=secrets.token_urlsafe(24),
            token_expires_at=created + timedelta(hours=24),
            customer_id=customer,
            customer_email=f"{customer}@example.com",
            subscription_id=f"sub_hist_{index:07d}",
            plan=plan,
            mrr_cents=mrr,
            currency=workspace.currency,
            subscription_started_at=created - timedelta(days=rng.randint(14, 1100)),
            locale=locale,
            source="api",
            created_at=created,
        )
        if rng.random() < 0.12:
            session.status = SessionStatus.ABANDONED
            session.outcome = Outcome.ABANDONED
            session.completed_at = created + timedelta(hours=24)
            yield session, None
            continue
        code = _weighted(rng, codes, [REASON_WEIGHTS[c][tier] for c in codes])
        assert isinstance(code, str)
        reason = reasons[code]
        answered = created + timedelta(seconds=rng.randint(8, 90))
        session.answered_at = answered
        text = ""
        if rng.random() < 0.4 or code == "other":
            text = verbatim(rng, locale, code)
        pick = offer_pick(
            workspace=workspace,
            facts=SessionFacts(
                reason=reason.code,
                category=reason.category_id,
                plan=plan,
                mrr_cents=mrr,
                tenure_days=tenure_days(session.subscription_started_at, answered),
                locale=locale,
                metadata={},
            ),
            customer_id=customer,
            history=CustomerHistory(),
            now=answered,
        )
        shown = pick.offer
        session.experiment_variant_id = pick.variant_id
        session.status = SessionStatus.COMPLETED
        session.completed_at = answered + timedelta(seconds=rng.randint(4, 120))
        session.outcome = Outcome.CANCELLED
        if shown is not None:
            session.offer = shown
            session.offered_at = answered
            if rng.random() < _save_rate(shown):
                session.outcome = Outcome.SAVED
                months = None
                if shown.kind == "pause":
                    low, high = pause_bounds(shown.terms)
                    months = rng.randint(low, high)
                session.accepted_terms = accepted_terms_for(
                    offer=shown, session=session, months=months, now=session.completed_at
                )
        if session.outcome == Outcome.CANCELLED and rng.random() < (
            KEEP_RATE_AFTER_OFFER if shown is not None else KEEP_RATE_WITHOUT_OFFER
        ):
            session.outcome = Outcome.SAVED
            session.kept = True
        response = Response(
            session=session,
            workspace=workspace,
            reason=reason,
            reason_code=reason.code,
            reason_label=localized(reason.label, locale),
            survey_version=survey.version,
            text=text,
            locale=locale,
            category_id=reason.category_id,
            category_source=CategorySource.CHOICE,
            session_created_at=session.created_at,
            plan=session.plan,
        )
        yield session, response


def history_exists(*, workspace: Workspace) -> bool:
    """Whether ``history_create`` has filled this workspace already."""
    return CancelSession.objects.filter(
        workspace=workspace, customer_id__startswith=HISTORY_CUSTOMER_PREFIX
    ).exists()


def history_create(
    *,
    workspace: Workspace,
    count: int,
    days: int = 180,
    seed: int | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> HistoryResult:
    """Bulk-insert ``count`` past sessions (and their answers) for ``workspace``,
    then make the rest of the service agree with them: the classifier learns from
    their labelled words and sorts their "other" answers, the rollups count them,
    and the subscriber counts a host would post follow their volume.

    All in one transaction: a run stopped midway (Ctrl-C during the first
    ``make run``) leaves no history, so the next run adds it whole, rather than
    sessions the rollups never counted."""
    with transaction.atomic():
        result = _history_insert(
            workspace=workspace,
            count=count,
            days=days,
            seed=seed,
            batch_size=batch_size,
            progress=progress,
        )
        experiments_start_with_history(workspace=workspace)
        classifier_train(workspace_id=workspace.pk)
        workspace.refresh_from_db()
        responses_recategorize(workspace=workspace)
        rollups_rebuild(workspace=workspace)
        subscriber_counts_demo(workspace=workspace, days=days, seed=seed)
    return result


def experiments_start_with_history(*, workspace: Workspace) -> None:
    """The workspace's experiments started when its history did: their sessions go
    back that far, so that is when they say they started."""
    first = (
        CancelSession.objects.filter(
            workspace=workspace, customer_id__startswith=HISTORY_CUSTOMER_PREFIX
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is not None:
        Experiment.objects.filter(workspace=workspace, created_at__gt=first).update(
            created_at=first
        )


def _history_insert(
    *,
    workspace: Workspace,
    count: int,
    days: int,
    seed: int | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> HistoryResult:
    rng = random.Random(seed)
    # The later events draw from their own sequence, so the sessions a seed makes
    # stay the same.
    events_rng = random.Random(None if seed is None else f"{seed}:events")
    now = timezone.now()
    sessions: list[CancelSession] = []
    responses: list[Response] = []
    events: list[SubscriptionEvent] = []
    made_sessions = made_responses = made_events = 0

    def flush() -> None:
        nonlocal made_sessions, made_responses, made_events
        with transaction.atomic():
            CancelSession.objects.bulk_create(sessions, batch_size=batch_size)
            Response.objects.bulk_create(responses, batch_size=batch_size)
            # Events already there (a history added again) are left as they are.
            SubscriptionEvent.objects.bulk_create(
                events, batch_size=batch_size, ignore_conflicts=True
            )
        made_sessions += len(sessions)
        made_responses += len(responses)
        made_events += len(events)
        events.clear()
        if progress:
            progress(len(sessions))
        sessions.clear()
        responses.clear()

    for session, response in history_rows(
        workspace=workspace, count=count, days=days, rng=rng, now=now
    ):
        sessions.append(session)
        if response is not None:
            responses.append(response)
        events.extend(history_events(session, rng=events_rng, now=now))
        if len(sessions) >= batch_size:
            flush()
    if sessions:
        flush()
    # Rows written in bulk, past the services: each save's first cancellation
    # (offers.saves) is counted from the events afterwards.
    save_cancellations_refresh(workspace_id=workspace.pk)
    return HistoryResult(
        sessions=made_sessions, responses=made_responses, subscription_events=made_events
    )
