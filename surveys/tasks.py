from celery import shared_task

from surveys.services import sessions_abandon_stale as abandon_stale


@shared_task(name="surveys.tasks.sessions_abandon_stale")
def sessions_abandon_stale() -> int:
    """Periodic: mark sessions left unfinished as abandoned."""
    return abandon_stale()
