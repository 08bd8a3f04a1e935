"""What surveys does when a workspace changes (``config.events``). Registered in
``SurveysConfig.ready``: a new workspace gets the default survey, in the
transaction that created it."""

from __future__ import annotations

from config.events import DomainEvent, subscribe
from surveys.services import survey_create_default
from workspaces.services import WORKSPACE_CREATED

DEFAULT_SURVEY_ORDER = 10


def default_survey_create(event: DomainEvent) -> None:
    survey_create_default(workspace=event.workspace)


def register() -> None:
    subscribe(WORKSPACE_CREATED, default_survey_create, order=DEFAULT_SURVEY_ORDER)
