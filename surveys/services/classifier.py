"""Categorising answers: a label set by hand, training the workspace's model
on the labels, and categorising again."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import Invalid, NotFound
from surveys.categorization.kinds import train_model
from surveys.categorization.pipeline import Categorization, categorizer_for
from surveys.models import Category, CategorySource, ClassifierModel, Response
from surveys.selectors import labelled_examples
from surveys.services.flow import SESSION_RELABELLED, SessionSnapshot, session_event_publish
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump

# --- Labels set by hand ---------------------------------------------------------------


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
        session_event_publish(name=SESSION_RELABELLED, session=session, before=before, now=now)
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
    model = train_model(examples, kind=settings.CLASSIFIER_MODEL)
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
