"""Reads for surveys and cancel sessions."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from surveys.locales import locale_from_accept_language, localized
from surveys.models import CancelSession, Reason, Response
from surveys.presenters import offer_view
from surveys.repository import session_row
from workspaces.models import Workspace

log = logging.getLogger(__name__)


def session_by_token(*, token: str) -> CancelSession | None:
    """The session with its workspace, survey, offer and answer, in one query
    (``surveys.repository``: the flow's hot read)."""
    return session_row(token=token)


@lru_cache(maxsize=256)
def _reasons_for_version(survey_id: int, version: int) -> tuple[Reason, ...]:
    return tuple(
        Reason.objects.filter(survey_id=survey_id, is_active=True).order_by("position", "id")
    )


def survey_reasons(*, survey_id: int, version: int) -> tuple[Reason, ...]:
    """The survey's active reasons, in order, cached per (survey, version).

    Every change to a survey's reasons goes through ``survey_bump_version`` (the
    admin does it on save), so a new version is a new cache key and a cached
    list is never stale. Callers must not modify the returned rows.
    """
    return _reasons_for_version(survey_id, version)


def sessions_for_workspace(
    *, workspace: Workspace, status: str | None = None, since: datetime | None = None
) -> QuerySet[CancelSession]:
    queryset = CancelSession.objects.filter(workspace=workspace).select_related("response")
    if status:
        queryset = queryset.filter(status=status)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    return queryset.order_by("-created_at", "-id")


def session_locale(session: CancelSession, accept_language: str | None = None) -> str:
    """The session's own locale, else the browser's, else the workspace's."""
    return (
        session.locale
        or locale_from_accept_language(accept_language)
        or session.workspace.default_locale
        or "en"
    )


@dataclass(frozen=True)
class ReasonView:
    code: str
    label: str
    category: str
    follow_up: str
    text_mode: str


@dataclass(frozen=True)
class FlowState:
    session: CancelSession
    locale: str
    question: str
    reasons: list[ReasonView]
    answer: Response | None
    offer: Any  # the OfferView of the offers app, or None
    expired: bool


def _ordered_reasons(session: CancelSession) -> list[Reason]:
    reasons = list(survey_reasons(survey_id=session.survey_id, version=session.survey.version))
    if session.survey.randomize_order:
        # Shuffle per session (stable across reloads); "other" keeps the last place.
        tail = [r for r in reasons if r.category_id == "other"]
        head = [r for r in reasons if r.category_id != "other"]
        random.Random(str(session.pk)).shuffle(head)
        reasons = head + tail
    return reasons


def flow_state(*, session: CancelSession, locale: str, now: datetime | None = None) -> FlowState:
    """Everything a customer's page or the flow API shows for a session (2 queries
    with ``session_by_token``)."""
    now = now or timezone.now()
    reasons = [
        ReasonView(
            code=reason.code,
            label=localized(reason.label, locale),
            category=reason.category_id,
            follow_up=localized(reason.follow_up, locale),
            text_mode=reason.text_mode,
        )
        for reason in _ordered_reasons(session)
    ]
    offer = (
        offer_view(
            session.offer, locale=locale, currency=session.currency, session=session, now=now
        )
        if session.offer is not None
        else None
    )
    return FlowState(
        session=session,
        locale=locale,
        question=localized(session.survey.question, locale),
        reasons=reasons,
        answer=getattr(session, "response", None),
        offer=offer,
        expired=session.token_expires_at <= now,
    )


def categorizer_data(*, workspace_id: int) -> dict[str, Any]:
    """What the workspace's categoriser is built from (three queries; cached by
    the caller per configuration version)."""
    from surveys.categorization.embedding import EmbeddingsUnavailable
    from surveys.categorization.kinds import model_from_json
    from surveys.models import CategoryRule, ClassifierModel, Competitor

    rules = [
        (rule.phrase, rule.category_id, rule.weight)
        for rule in CategoryRule.objects.filter(workspace_id=workspace_id, is_active=True)
    ]
    competitors = [
        (c.pk, c.name, list(c.aliases or []))
        for c in Competitor.objects.filter(workspace_id=workspace_id)
    ]
    latest = ClassifierModel.objects.filter(workspace_id=workspace_id).order_by("-version").first()
    model = None
    if latest is not None:
        try:
            model = model_from_json(latest.parameters)
        except EmbeddingsUnavailable as exc:
            # Stored by a deployment that had the embeddings extra: the rules still
            # categorise (and answers go to review) until the extra is back or the
            # next model of another kind is trained.
            log.error("workspace %s: classifier %s not loaded: %s", workspace_id, latest.label, exc)
            latest = None
    return {
        "rules": rules,
        "competitors": competitors,
        "model": model,
        "model_version": latest.label if latest else "",
    }


def labelled_examples(*, workspace_id: int) -> QuerySet[Response]:
    """Answers whose text has a trusted category: written next to a chosen
    reason (other than "other"), or labelled by a team member."""
    from surveys.models import CategorySource

    return (
        Response.objects.filter(workspace_id=workspace_id)
        .exclude(text="")
        .filter(
            Q(category_source=CategorySource.MANUAL)
            | (Q(category_source=CategorySource.CHOICE) & ~Q(reason__category_id="other"))
        )
    )


def review_queue(*, workspace: Workspace, limit: int = 100) -> QuerySet[Response]:
    """Low-confidence categorisations, newest first, for a person to check."""
    return Response.objects.filter(workspace=workspace, needs_review=True).order_by("-created_at")[
        :limit
    ]


def competitor_counts(
    *, workspace: Workspace, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Which competitors customers name, and how often, most named first."""
    from django.db.models import Count

    from surveys.models import CompetitorMention

    mentions = CompetitorMention.objects.filter(workspace=workspace)
    if since:
        mentions = mentions.filter(created_at__gte=since)
    if until:
        mentions = mentions.filter(created_at__lt=until)
    rows = (
        mentions.values("competitor_id", "competitor__name")
        .annotate(mentions=Count("id"))
        .order_by("-mentions", "competitor__name")
    )
    return [
        {
            "competitor": row["competitor__name"],
            "id": row["competitor_id"],
            "mentions": row["mentions"],
        }
        for row in rows
    ]


def customer_sessions(*, workspace: Workspace, customer_id: str) -> QuerySet[CancelSession]:
    """Every session of one customer in the workspace, oldest first, with the
    answer, the offer and the experiment arm (export and erasure)."""
    return (
        CancelSession.objects.filter(workspace=workspace, customer_id=customer_id)
        .select_related("response", "offer", "experiment_variant")
        .order_by("created_at", "pk")
    )
