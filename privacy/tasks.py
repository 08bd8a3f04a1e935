from celery import shared_task

from privacy import services


@shared_task(name="privacy.tasks.retention_erase")
def retention_erase() -> int:
    """Periodic: erase the personal data of sessions past their workspace's
    retention period (RETAIN_PERSONAL_DATA_DAYS or the workspace's own)."""
    return services.retention_erase()
