"""The customers' words: answers with text, newest first, within the filters."""

from __future__ import annotations

from django.db.models import QuerySet

from analytics.selectors.filters import AnalyticsFilters, filters_bounds
from surveys.models import Response
from surveys.search import words_matching
from workspaces.models import Workspace

# What is shown beside an answer's words (in the API and on the words page): its
# session's start, plan and outcome. Read in the same statement as the answers.
ANSWER_RELATED = ("session",)


def verbatims(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    category: str = "",
    reason: str = "",
    query: str = "",
    outcome: str = "",
) -> QuerySet[Response]:
    """Answers with words in them, newest first, within the filters. Read by the
    session's start and plan as copied onto the answer, so the partial indexes of
    words (by workspace, category, reason or plan) give them in order."""
    start, end = filters_bounds(workspace, filters)
    answers = (
        Response.objects.filter(
            workspace=workspace,
            session_created_at__gte=start,
            session_created_at__lt=end,
        )
        .exclude(text="")
        .select_related(*ANSWER_RELATED)
        .order_by("-session_created_at", "-pk")
    )
    if filters.plan:
        answers = answers.filter(plan=filters.plan)
    if filters.survey_id is not None:
        answers = answers.filter(session__survey_id=filters.survey_id)
    if filters.locale:
        answers = answers.filter(locale=filters.locale)
    if category:
        answers = answers.filter(category_id=category)
    if reason:
        answers = answers.filter(reason_code=reason)
    if outcome:
        answers = answers.filter(session__outcome=outcome)
    return words_matching(answers, query)


def verbatims_slice(answers: QuerySet[Response], start: int, stop: int) -> list[Response]:
    """``answers[start:stop]`` (from ``verbatims``), with their sessions and offers
    joined for those answers only: the answers skipped to get there (a thousand,
    on a deep page) are read from their index, not each joined to its session.
    An answer deleted between the two reads (its workspace's data erased, say) is
    left out of the page rather than failing it."""
    ids = list(answers.values_list("pk", flat=True)[start:stop])
    found = answers.model.objects.select_related(*ANSWER_RELATED).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]
