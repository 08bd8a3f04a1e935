"""Writes for surveys and the cancel flow.

The flow is a small state machine::

    started -> answered -> offered -> completed (saved | cancelled)
         \\________\\___________\\_____> completed (cancelled)   [cancel at any step]
    open sessions left too long -> abandoned

Each transition below locks the session row, checks the state, writes, and is
safe to repeat: a double click or a retried request returns the same result and
never records a second outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Aggregate, OuterRef, Subquery, TextField
from django.utils import timezone

from alerts.services import session_change_record
from analytics.services import rollup_session_change
from config.errors import Conflict, Gone, Invalid, NotFound
from offers.selectors import CustomerHistory, SessionFacts, offer_pick, tenure_days
from offers.services import (
    accepted_terms_for,
    outcome_billing_queue,
    outcome_confirmation_queue,
)
from surveys.categorization.classifier import NaiveBayes
from surveys.categorization.pipeline import Categorization, categorizer_for
from surveys.locales import localized, normalize_locale
from surveys.models import (
    OPEN_STATUSES,
    CancelSession,
    Category,
    CategorySource,
    ClassifierModel,
    CompetitorMention,
    Outcome,
    Reason,
    Response,
    SessionIdempotencyKey,
    SessionStatus,
    Survey,
    TextMode,
)
from surveys.selectors import labelled_examples, survey_reasons
from surveys.taxonomy import CATEGORIES, DEFAULT_QUESTION, DEFAULT_REASONS
from workspaces.models import Workspace
from workspaces.origins import url_on_origins
from workspaces.services import workspace_config_bump

# --- Surveys --------------------------------------------------------------------


def categories_ensure() -> None:
    """Make sure the default taxonomy exists (a migration creates it; this also
    covers databases emptied since, such as a flushed test database)."""
    Category.objects.bulk_create(
        [
            Category(code=code, position=position, stripe_feedback=feedback)
            for code, (position, feedback) in CATEGORIES.items()
        ],
        ignore_conflicts=True,
    )


def survey_create_default(*, workspace: Workspace) -> Survey:
    """The default bilingual survey covering the whole taxonomy."""
    with transaction.atomic():
        categories_ensure()
        survey = Survey.objects.create(
            workspace=workspace,
            name="Default exit survey",
            is_default=True,
            question=dict(DEFAULT_QUESTION),
        )
        Reason.objects.bulk_create(
            Reason(
                survey=survey,
                code=code,
                position=position,
                category_id=category,
                label=label,
                follow_up=follow_up,
                text_mode=text_mode,
            )
            for position, (code, category, label, follow_up, text_mode) in enumerate(
                DEFAULT_REASONS, start=1
            )
        )
    return survey


def survey_bump_version(*, survey: Survey) -> Survey:
    """Record that the survey's wording or reasons changed.

    Answers already given keep the label, category and version they were given
    under (they are copied onto the Response), so nothing past is rewritten.
    """
    with transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(version=survey.version + 1)
        survey.refresh_from_db(fields=["version", "updated_at"])
    return survey


# --- Opening a session --------------------------------------------------------------


@dataclass(frozen=True)
class CustomerInput:
    id: str
    email: str = ""
    name: str = ""


@dataclass(frozen=True)
class SubscriptionInput:
    id: str
    plan: str = ""
    mrr_cents: int = 0
    currency: str = ""
    started_at: datetime | None = None
    current_period_end: datetime | None = None


@dataclass(frozen=True)
class OpenedSession:
    session: CancelSession
    created: bool


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def session_open(
    *,
    workspace: Workspace,
    customer: CustomerInput,
    subscription: SubscriptionInput,
    locale: str | None = None,
    return_url: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency_key: str = "",
    fingerprint: str = "",
    source: str = "api",
    now: datetime | None = None,
) -> OpenedSession:
    """Open a cancel session, or return the one already open for the subscription.

    With an ``idempotency_key``, a repeat of the same request gets what the first
    got (the same session, and whether it was made then), even when the two race;
    the same key with a different body (``fingerprint``) is always a conflict. A
    ``return_url`` must be on the workspace's allowed origins when it has any.
    """
    now = now or timezone.now()
    if idempotency_key:
        replayed = _idempotent_replay(
            workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
        if replayed is not None:
            return replayed
    if return_url and not url_on_origins(return_url, workspace.allowed_origins):
        raise Invalid(
            "The return_url is not on one of the workspace's allowed origins.",
            code="return_url_not_allowed",
        )

    survey = (
        Survey.objects.filter(workspace=workspace, is_active=True)
        .order_by("-is_default", "id")
        .first()
    )
    if survey is None:
        raise Conflict("This workspace has no active survey.", code="no_survey")

    try:
        with transaction.atomic():
            opened = _session_insert(
                workspace=workspace,
                survey=survey,
                customer=customer,
                subscription=subscription,
                locale=locale,
                return_url=return_url,
                metadata=metadata,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                source=source,
                now=now,
            )
            if idempotency_key:
                _idempotency_key_record(
                    workspace=workspace, key=idempotency_key, fingerprint=fingerprint, opened=opened
                )
    except IntegrityError:
        # A concurrent request committed first (the insert hit the Idempotency-Key or
        # the one-open-session constraint and nothing was kept). The key decides
        # first, with the same fingerprint check as above: a racer with another body
        # gets a 409, never the winner's session.
        if idempotency_key:
            replayed = _idempotent_replay(
                workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
            )
            if replayed is not None:
                return replayed
        winner = CancelSession.objects.filter(
            workspace=workspace, subscription_id=subscription.id, status__in=OPEN_STATUSES
        ).first()
        if winner is None:
            raise
        opened = OpenedSession(session=winner, created=False)
        if idempotency_key:
            try:
                with transaction.atomic():
                    _idempotency_key_record(
                        workspace=workspace,
                        key=idempotency_key,
                        fingerprint=fingerprint,
                        opened=opened,
                    )
            except IntegrityError:
                replayed = _idempotent_replay(
                    workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
                )
                if replayed is None:
                    raise
                return replayed
    return opened


def _idempotency_key_record(
    *, workspace: Workspace, key: str, fingerprint: str, opened: OpenedSession
) -> None:
    """Remember what the first request with this key got; IntegrityError when a
    concurrent request with the key got there first."""
    SessionIdempotencyKey.objects.create(
        workspace=workspace,
        key=key,
        request_fingerprint=fingerprint,
        session=opened.session,
        created=opened.created,
    )


def _idempotent_replay(
    *, workspace: Workspace, idempotency_key: str, fingerprint: str
) -> OpenedSession | None:
    """What the first request with this Idempotency-Key got (the same session, and
    whether it was made then); a conflict when the body differs; None when the key
    is new."""
    used = (
        SessionIdempotencyKey.objects.select_related("session")
        .filter(workspace=workspace, key=idempotency_key)
        .first()
    )
    if used is None:
        return None
    if used.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used with a different request body.",
            code="idempotency_key_reused",
        )
    return OpenedSession(session=used.session, created=used.created)


def _session_insert(
    *,
    workspace: Workspace,
    survey: Survey,
    customer: CustomerInput,
    subscription: SubscriptionInput,
    locale: str | None,
    return_url: str,
    metadata: dict[str, Any] | None,
    idempotency_key: str,
    fingerprint: str,
    source: str,
    now: datetime,
) -> OpenedSession:
    """The open session for the subscription, or a new one; in the caller's
    transaction (an expired open session is marked abandoned first)."""
    current = (
        CancelSession.objects.select_for_update()
        .filter(
            workspace=workspace,
            subscription_id=subscription.id,
            status__in=OPEN_STATUSES,
        )
        .first()
    )
    if current is not None:
        if current.token_expires_at > now:
            return OpenedSession(session=current, created=False)
        current.workspace = workspace
        _mark_abandoned(current, now=now)
    session = CancelSession(
        workspace=workspace,
        survey=survey,
        survey_version=survey.version,
        token_expires_at=now + settings.SESSION_TOKEN_TTL,
        customer_id=customer.id,
        customer_email=customer.email,
        customer_name=customer.name,
        subscription_id=subscription.id,
        plan=subscription.plan,
        mrr_cents=subscription.mrr_cents,
        currency=(subscription.currency or workspace.currency).upper(),
        subscription_started_at=subscription.started_at,
        current_period_end=subscription.current_period_end,
        locale=normalize_locale(locale) or "",
        return_url=return_url,
        metadata=metadata or {},
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        source=source,
        created_at=now,
    )
    session.save(force_insert=True)
    _session_changed(session=session, before=None, now=now)
    return OpenedSession(session=session, created=True)


# --- Change hook -------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSnapshot:
    """What a session looked like before a change: the parts that analytics, alerts
    and outcome webhooks care about. ``None`` as the snapshot means "did not exist"."""

    status: str
    outcome: str
    locale: str
    reason_code: str
    category_code: str
    offer_id: int | None
    completed_at: datetime | None

    @classmethod
    def of(cls, session: CancelSession, *, new: bool = False) -> SessionSnapshot:
        """``new``: the session was just made, so it has no answer (no query)."""
        response = None if new else getattr(session, "response", None)
        return cls(
            status=session.status,
            outcome=session.outcome,
            locale=session.locale,
            reason_code=response.reason_code if response is not None else "",
            category_code=response.category_id if response is not None else "",
            offer_id=session.offer_id,
            completed_at=session.completed_at,
        )


def _session_changed(
    *, session: CancelSession, before: SessionSnapshot | None, now: datetime
) -> None:
    """Every write to a session (or its answer) ends here, inside the same
    transaction: the other apps record what follows from the change (rollups,
    alerts, outcome webhooks) atomically with it. Keep it explicit: one call per
    consumer, each a service of its own app."""
    after = SessionSnapshot.of(session, new=before is None)
    if after != before:
        rollup_session_change(session=session, before=before, after=after)
    event = session_change_record(session=session, before=before, now=now)
    outcome_confirmation_queue(session=session, event=event)
    outcome_billing_queue(session=session, event=event)


# --- The flow -------------------------------------------------------------------


class _IdList(Aggregate):
    """Comma-separated ids (GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s)"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s((%(expressions)s)::text, ',')",
            **extra,
        )


def _locked_session(token: str, *, now: datetime, with_history: bool = False) -> CancelSession:
    """The session, locked, with its workspace, survey, offer and answer: one
    query. ``with_history`` adds the customer's past acceptances to that same
    query (when they last accepted an offer, and which offers), which is what the
    offer cooldown and the per-customer caps need."""
    queryset = (
        CancelSession.objects.select_for_update(of=("self",))
        .select_related("workspace", "survey", "offer", "response")
        .filter(token=token)
    )
    if with_history:
        saved = CancelSession.objects.filter(
            workspace_id=OuterRef("workspace_id"),
            customer_id=OuterRef("customer_id"),
            outcome=Outcome.SAVED,
        ).order_by()
        queryset = queryset.annotate(
            history_last_saved_at=Subquery(
                saved.order_by("-completed_at").values("completed_at")[:1]
            ),
            history_offer_ids=Subquery(
                saved.filter(offer__isnull=False)
                .values("workspace_id")
                .annotate(ids=_IdList("offer_id"))
                .values("ids")[:1]
            ),
        )
    found = list(queryset.order_by()[:1])
    if not found:
        raise NotFound("This cancel link is not valid.", code="session_not_found")
    return found[0]


def _customer_history(session: CancelSession) -> CustomerHistory:
    ids = getattr(session, "history_offer_ids", None) or ""
    last = getattr(session, "history_last_saved_at", None)
    if isinstance(last, str):  # SQLite hands back a subquery's datetime as text
        from django.utils.dateparse import parse_datetime

        last = parse_datetime(last)
        if last is not None and timezone.is_naive(last):
            last = timezone.make_aware(last, UTC)
    return CustomerHistory(
        last_saved_at=last,
        accepted_offer_ids=tuple(int(i) for i in str(ids).split(",") if i.strip()),
    )


def _require_usable(session: CancelSession, *, now: datetime) -> None:
    if session.status == SessionStatus.COMPLETED:
        raise Conflict("This cancellation is already complete.", code="session_completed")
    if session.token_expires_at <= now or session.status == SessionStatus.ABANDONED:
        raise Gone("This cancel link has expired. Please start again.", code="session_expired")


def _categorize_answer(
    response: Response, workspace: Workspace, *, chosen: str
) -> Categorization | None:
    """Set the answer's category. A chosen reason gives it, unless it is "other":
    then the customer's words are categorised (rules, the workspace's model, else
    "other" queued for review). No query: the categoriser is cached per
    configuration version."""
    response.category_id = chosen
    response.category_source = CategorySource.CHOICE
    response.category_confidence = 1.0
    response.model_version = ""
    response.needs_review = False
    if not response.text:
        return None
    found = categorizer_for(workspace=workspace).categorize(response.text)
    if chosen == "other":
        response.category_id = found.category
        response.category_source = CategorySource(found.source)
        response.category_confidence = found.confidence
        response.model_version = found.model_version
        response.needs_review = found.needs_review
    return found


def _mentions_record(response: Response, competitors: tuple[int, ...], *, replace: bool) -> None:
    """Tag the competitors the answer names (a query only when there are some)."""
    if replace:
        CompetitorMention.objects.filter(response=response).delete()
    if competitors:
        CompetitorMention.objects.bulk_create(
            [
                CompetitorMention(
                    workspace_id=response.workspace_id,
                    response=response,
                    competitor_id=competitor,
                    created_at=timezone.now(),
                )
                for competitor in competitors
            ],
            ignore_conflicts=True,
        )


def session_answer(
    *, token: str, reason_code: str, text: str = "", now: datetime | None = None
) -> CancelSession:
    """Record why the customer is leaving and pick at most one offer.

    Answering again before the end replaces the answer; an offer already shown
    stays the only one.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    limit = settings.RESPONSE_TEXT_MAX_LENGTH
    if len(text) > limit:
        raise Invalid(
            f"The text is too long ({len(text)} characters; the limit is {limit}).",
            code="text_too_long",
            fields={"text": f"at most {limit} characters"},
        )
    with transaction.atomic():
        session = _locked_session(token, now=now, with_history=True)
        _require_usable(session, now=now)
        before = SessionSnapshot.of(session)
        reason = next(
            (
                r
                for r in survey_reasons(survey_id=session.survey_id, version=session.survey.version)
                if r.code == reason_code
            ),
            None,
        )
        if reason is None:
            raise Invalid(
                f"Unknown reason {reason_code!r}.",
                code="unknown_reason",
                fields={"reason": "not one of this survey's reasons"},
            )
        if reason.text_mode == TextMode.REQUIRED and not text:
            raise Invalid(
                "Please tell us a little more.",
                code="text_required",
                fields={"text": "required for this reason"},
            )
        if reason.text_mode == TextMode.NONE:
            text = ""
        locale = session.locale or session.workspace.default_locale
        response = getattr(session, "response", None)
        if response is not None and response.reason_id == reason.pk and response.text == text:
            return session  # the same answer again: nothing to do
        answered_before = response is not None
        if response is None:
            response = Response(
                session=session,
                workspace_id=session.workspace_id,
                session_created_at=session.created_at,
                plan=session.plan,
            )
        response.reason = reason
        response.reason_code = reason.code
        response.reason_label = localized(reason.label, locale)[:300]
        response.survey_version = session.survey_version
        response.text = text
        response.locale = locale
        found = _categorize_answer(response, session.workspace, chosen=reason.category_id)
        response.save()
        session.response = response
        _mentions_record(response, found.competitors if found else (), replace=answered_before)

        fields = ["status"]
        if session.answered_at is None:
            session.answered_at = now
            fields.append("answered_at")
        if session.offer_id is None and session.experiment_variant_id is None:
            # At most one offer per session: once shown, a changed answer keeps it
            # (and a customer in an experiment's control arm stays without one).
            pick = offer_pick(
                workspace=session.workspace,
                facts=SessionFacts(
                    reason=reason.code,
                    category=response.category_id,
                    plan=session.plan,
                    mrr_cents=session.mrr_cents,
                    tenure_days=tenure_days(session.subscription_started_at, now),
                    locale=locale,
                    metadata=session.metadata or {},
                ),
                customer_id=session.customer_id,
                history=_customer_history(session),
                now=now,
            )
            if session.experiment_variant_id is None and pick.variant_id is not None:
                session.experiment_variant_id = pick.variant_id
                fields.append("experiment_variant")
            if pick.offer is not None:
                session.offer = pick.offer
                session.offered_at = now
                session.status = SessionStatus.OFFERED
                fields += ["offer", "offered_at"]
            else:
                session.status = SessionStatus.ANSWERED
        session.save(update_fields=fields)
        _session_changed(session=session, before=before, now=now)
    return session


def session_accept(
    *, token: str, offer_id: int, months: int | None = None, now: datetime | None = None
) -> CancelSession:
    """The customer takes the offer they were shown: outcome ``saved``, with the
    terms as applied (for a pause, the months they chose and the resume date)
    stored on the session and sent in the outcome webhook.

    Repeating the same acceptance returns the session; accepting anything else
    afterwards (another offer, another pause length) is a conflict. An offer not
    shown, a finished or expired session, or a pause length outside the offer's
    bounds are refused and change nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked_session(token, now=now)
        if session.outcome == Outcome.SAVED:
            if session.offer_id == offer_id and (
                months is None or (session.accepted_terms or {}).get("months") == months
            ):
                return session  # a repeat of the same acceptance
            raise Conflict(
                "Another offer or other terms were already accepted in this session.",
                code="offer_already_accepted",
                fields={"offer": "the session is already saved with other terms"},
            )
        _require_usable(session, now=now)
        if session.offer is None or session.offer_id != offer_id:
            raise Conflict(
                "That offer was not shown in this session.",
                code="offer_not_shown",
                fields={"offer": "not the offer shown"},
            )
        accepted = accepted_terms_for(offer=session.offer, session=session, months=months, now=now)
        before = SessionSnapshot.of(session)
        session.status = SessionStatus.COMPLETED
        session.outcome = Outcome.SAVED
        session.completed_at = now
        session.accepted_terms = accepted
        session.save(update_fields=["status", "outcome", "completed_at", "accepted_terms"])
        _session_changed(session=session, before=before, now=now)
    return session


def session_cancel(*, token: str, now: datetime | None = None) -> CancelSession:
    """The customer cancels: outcome ``cancelled``. Possible from every step.

    A session already marked abandoned can still be cancelled while its link is
    valid: a customer who comes back to cancel is never turned away.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked_session(token, now=now)
        if session.outcome == Outcome.CANCELLED:
            return session  # a repeat
        if session.status == SessionStatus.COMPLETED:
            raise Conflict(
                "This session already ended with the offer accepted.", code="session_completed"
            )
        if session.token_expires_at <= now:
            raise Gone("This cancel link has expired. Please start again.", code="session_expired")
        before = SessionSnapshot.of(session)
        session.status = SessionStatus.COMPLETED
        session.outcome = Outcome.CANCELLED
        session.completed_at = now
        session.save(update_fields=["status", "outcome", "completed_at"])
        _session_changed(session=session, before=before, now=now)
    return session


def _mark_abandoned(session: CancelSession, *, now: datetime) -> None:
    before = SessionSnapshot.of(session)
    session.status = SessionStatus.ABANDONED
    session.outcome = Outcome.ABANDONED
    session.completed_at = now
    session.save(update_fields=["status", "outcome", "completed_at"])
    _session_changed(session=session, before=before, now=now)


def sessions_abandon_stale(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Mark sessions left open longer than SESSION_ABANDON_AFTER as abandoned.

    Works in small locked batches (skipping rows a customer is using right now),
    so it is safe to run from several workers and to repeat.
    """
    now = now or timezone.now()
    cutoff = now - settings.SESSION_ABANDON_AFTER
    total = 0
    while True:
        with transaction.atomic():
            batch = list(
                CancelSession.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("workspace", "response")
                .filter(status__in=OPEN_STATUSES, created_at__lt=cutoff)
                .order_by("created_at")[:batch_size]
            )
            for session in batch:
                _mark_abandoned(session, now=now)
        total += len(batch)
        if len(batch) < batch_size:
            return total


def session_set_locale(*, token: str, locale: str) -> CancelSession:
    """The customer picked a language on the page; later pages and emails use it."""
    normalized = normalize_locale(locale)
    if normalized is None:
        raise Invalid(f"Unsupported language {locale!r}.", code="unsupported_locale")
    with transaction.atomic():
        session = _locked_session(token, now=timezone.now())
        if session.locale != normalized:
            before = SessionSnapshot.of(session)
            session.locale = normalized
            session.save(update_fields=["locale"])
            _session_changed(session=session, before=before, now=timezone.now())
    return session


def response_relabel(
    *, workspace: Workspace, response_id: int, category_code: str, now: datetime | None = None
) -> Response:
    """A team member sets the category of an answer by hand. A manual label wins
    over the chosen reason, rules and the classifier, and the figures follow."""
    now = now or timezone.now()
    if not Category.objects.filter(code=category_code).exists():
        raise Invalid(
            f"Unknown category {category_code!r}.",
            code="unknown_category",
            fields={"category": "not a category of the taxonomy"},
        )
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .select_related("session", "session__workspace")
            .filter(workspace=workspace, pk=response_id)
            .first()
        )
        if response is None:
            raise NotFound("No such answer in this workspace.", code="response_not_found")
        session = response.session
        session.response = response
        before = SessionSnapshot.of(session)
        response.category_id = category_code
        response.category_source = CategorySource.MANUAL
        response.category_confidence = 1.0
        response.model_version = ""
        response.needs_review = False
        response.save(
            update_fields=[
                "category",
                "category_source",
                "category_confidence",
                "model_version",
                "needs_review",
                "updated_at",
            ]
        )
        _session_changed(session=session, before=before, now=now)
        # The label teaches the model: retrain once enough new labels came in.
        if response.text and classifier_retrain_due(workspace_id=workspace.pk):
            from surveys.tasks import classifier_train as train_task

            transaction.on_commit(lambda: train_task.delay(workspace.pk))
    return response


# --- Learning from labels ---------------------------------------------------------------


def classifier_train(*, workspace_id: int, now: datetime | None = None) -> ClassifierModel | None:
    """Train the workspace's free-text model on its labelled answers and store it
    as the next version. None when there is too little to learn from."""
    now = now or timezone.now()
    examples = list(labelled_examples(workspace_id=workspace_id).values_list("text", "category_id"))
    if (
        len(examples) < settings.CLASSIFIER_MIN_EXAMPLES
        or len({category for _text, category in examples}) < 2
    ):
        return None
    model = NaiveBayes.train(examples)
    with transaction.atomic():
        latest = (
            ClassifierModel.objects.select_for_update()
            .filter(workspace_id=workspace_id)
            .order_by("-version")
            .first()
        )
        stored = ClassifierModel.objects.create(
            workspace_id=workspace_id,
            version=(latest.version + 1) if latest else 1,
            trained_at=now,
            examples=len(examples),
            labels_seen=len(examples),
            parameters=model.to_json(),
        )
        workspace_config_bump(workspace_id=workspace_id)
    return stored


def classifier_retrain_due(*, workspace_id: int) -> bool:
    """Enough new labels since the last model (or none yet) to train again."""
    labelled = labelled_examples(workspace_id=workspace_id).count()
    latest = ClassifierModel.objects.filter(workspace_id=workspace_id).order_by("-version").first()
    seen = latest.labels_seen if latest else 0
    return labelled - seen >= settings.CLASSIFIER_RETRAIN_AFTER_LABELS


def classifiers_retrain_due(*, workspace_ids: list[int] | None = None) -> list[int]:
    """Periodic: train every workspace that has enough new labels. Returns their ids."""
    ids = (
        workspace_ids
        if workspace_ids is not None
        else list(Workspace.objects.values_list("pk", flat=True))
    )
    trained = []
    for workspace_id in ids:
        if classifier_retrain_due(workspace_id=workspace_id) and classifier_train(
            workspace_id=workspace_id
        ):
            trained.append(workspace_id)
    return trained


def categorize_texts(*, workspace: Workspace, texts: list[str]) -> list[Categorization]:
    """Categorise texts the way the flow would (the API's /categorize)."""
    categorizer = categorizer_for(workspace=workspace)
    return [categorizer.categorize(text) for text in texts]


def responses_recategorize(*, workspace: Workspace, batch_size: int = 2000) -> int:
    """Categorise again the free text of answers given as "other" (never a manual
    label), with the workspace's current rules and model: after importing history,
    or after a new model. Returns how many answers changed category."""
    categorizer = categorizer_for(workspace=workspace)
    candidates = (
        Response.objects.filter(workspace=workspace, reason__category_id="other")
        .exclude(text="")
        .exclude(category_source=CategorySource.MANUAL)
        .only("pk", "text", "category_id", "category_source")
    )
    changed: list[Response] = []
    for response in candidates.iterator(chunk_size=batch_size):
        found = categorizer.categorize(response.text)
        if found.category != response.category_id or response.category_source == "choice":
            response.category_id = found.category
            response.category_source = found.source
            response.category_confidence = found.confidence
            response.model_version = found.model_version
            response.needs_review = found.needs_review
            changed.append(response)
    fields = ["category", "category_source", "category_confidence", "model_version", "needs_review"]
    with transaction.atomic():
        Response.objects.bulk_update(changed, fields, batch_size=batch_size)
    return len(changed)


# --- Erasing a customer's personal data --------------------------------------------------


@dataclass(frozen=True)
class SessionsErased:
    sessions: int
    answers: int


def sessions_personal_data_erase(
    *,
    session_ids: list[Any],
    pseudonym: Callable[[CancelSession], str],
    keep_metadata: tuple[str, ...] = (),
    now: datetime | None = None,
) -> SessionsErased:
    """Erase the personal data of these sessions and their answers, keeping every
    figure the analytics count (status, outcome, plan, MRR, dates, reason,
    category, offer): the customer's id becomes ``pseudonym(session)`` (left as
    it is on a session erased before), email, name, return URL, the idempotency
    key and fingerprint (a hash of the request) are emptied, metadata keeps
    only the ``keep_metadata`` keys, and the answers' words are emptied (the
    search indexes are on the text itself, so they follow; the category found in
    them stays, and the answer leaves the review queue). Rows are locked, so
    a flow step running now finishes first or sees the erased row."""
    now = now or timezone.now()
    with transaction.atomic():
        sessions = list(
            CancelSession.objects.select_for_update(of=("self",))
            .filter(pk__in=session_ids)
            .order_by("pk")
        )
        for session in sessions:
            if session.personal_data_erased_at is None:
                session.customer_id = pseudonym(session)
                session.personal_data_erased_at = now
            session.customer_email = ""
            session.customer_name = ""
            session.return_url = ""
            # The host's key may be built from the customer's id; a retry this late
            # has nothing left to replay.
            session.idempotency_key = ""
            session.request_fingerprint = ""
            session.metadata = {
                key: value
                for key, value in (session.metadata or {}).items()
                if key in keep_metadata
            }
        CancelSession.objects.bulk_update(
            sessions,
            [
                "customer_id",
                "customer_email",
                "customer_name",
                "return_url",
                "idempotency_key",
                "request_fingerprint",
                "metadata",
                "personal_data_erased_at",
            ],
            batch_size=500,
        )
        # Keys kept apart from the session (for a repeat that found it open) too.
        SessionIdempotencyKey.objects.filter(session_id__in=[s.pk for s in sessions]).delete()
        answers = Response.objects.filter(session_id__in=[s.pk for s in sessions])
        answered = answers.count()
        # With no words left there is nothing to review: out of the review queue.
        answers.exclude(text="", needs_review=False).update(text="", needs_review=False)
    return SessionsErased(sessions=len(sessions), answers=answered)
