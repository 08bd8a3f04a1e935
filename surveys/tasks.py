from celery import shared_task

from surveys.services import sessions_abandon_stale as abandon_stale


@shared_task(name="surveys.tasks.sessions_abandon_stale")
def sessions_abandon_stale() -> int:
    """Periodic: mark sessions left unfinished as abandoned."""
    return abandon_stale()


@shared_task(name="surveys.tasks.classifier_train")
def classifier_train(workspace_id: int) -> int | None:
    """Train the workspace's free-text model on its labels; returns the version."""
    from surveys.services import classifier_train as train

    model = train(workspace_id=workspace_id)
    return model.version if model else None


@shared_task(name="surveys.tasks.classifiers_retrain_due")
def classifiers_retrain_due() -> list[int]:
    """Periodic: retrain the models of workspaces with enough new labels."""
    from surveys.services import classifiers_retrain_due as retrain

    return retrain()
