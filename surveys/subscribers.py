"""What surveys does when a workspace changes (``config.events``), and what it
does with its own sessions' events. Registered in ``SurveysConfig.ready``: a new
workspace gets the default survey, in the transaction that created it; a
session's changed fields are written in one UPDATE (order 80); a session that
ends counts in ``cancelflow_flow_outcomes_total`` and an answer the categoriser
read in ``cancelflow_categorizations_total`` (config.metrics), once the
transaction commits."""

from __future__ import annotations

from django.db import transaction

from config.events import DomainEvent, subscribe
from config.metrics import CATEGORIZATIONS, FLOW_OUTCOMES
from surveys.models import CategorySource
from surveys.services import survey_create_default
from surveys.services.flow import (
    SESSION_ABANDONED,
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_EVENTS,
    session_fields_write,
)
from workspaces.services import WORKSPACE_CREATED

DEFAULT_SURVEY_ORDER = 10
# The session's UPDATE: after the subscribers that change the session (offers at
# 10 and 15) and the outbox row (alerts, 30), before the rollups (analytics, 90),
# whose rows concurrent outcomes share and so are locked last, for the shortest
# time (their upsert, then the commit).
SESSION_WRITE_ORDER = 80
# After every other subscriber: counting changes nothing.
METRICS_ORDER = 1000


def default_survey_create(event: DomainEvent) -> None:
    survey_create_default(workspace=event.workspace)


def session_write(event: DomainEvent) -> None:
    session_fields_write(event)


def outcome_count(event: DomainEvent) -> None:
    outcome = event.after.outcome if event.after is not None else ""
    if outcome:
        transaction.on_commit(FLOW_OUTCOMES.labels(outcome).inc)


def categorization_count(event: DomainEvent) -> None:
    response = getattr(event.session, "response", None)
    if response is None or response.category_source in (CategorySource.CHOICE, ""):
        return  # a chosen reason: the categoriser was not asked
    result = "review" if response.needs_review else "automatic"
    transaction.on_commit(CATEGORIZATIONS.labels(result).inc)


def register() -> None:
    subscribe(WORKSPACE_CREATED, default_survey_create, order=DEFAULT_SURVEY_ORDER)
    for name in SESSION_EVENTS:
        subscribe(name, session_write, order=SESSION_WRITE_ORDER)
    for name in (SESSION_COMPLETED, SESSION_ABANDONED):
        subscribe(name, outcome_count, order=METRICS_ORDER)
    subscribe(SESSION_ANSWERED, categorization_count, order=METRICS_ORDER)
