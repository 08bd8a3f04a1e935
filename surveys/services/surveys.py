"""Writes for surveys: the default survey a new workspace gets, and versions."""

from __future__ import annotations

from django.db import transaction

from surveys.models import Category, Reason, Survey
from surveys.taxonomy import CATEGORIES, DEFAULT_QUESTION, DEFAULT_REASONS
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump


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
        # Which survey opens is cached per configuration version.
        workspace_config_bump(workspace_id=workspace.pk)
    return survey


def survey_bump_version(*, survey: Survey) -> Survey:
    """Record that the survey's wording or reasons changed.

    Answers already given keep the label, category and version they were given
    under (they are copied onto the Response), so nothing past is rewritten.
    """
    with transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(version=survey.version + 1)
        workspace_config_bump(workspace_id=survey.workspace_id)
        survey.refresh_from_db(fields=["version", "updated_at"])
    return survey
