"""Celery tasks for analytics. ``digests_send_due`` runs hourly under beat; each
digest is sent once per workspace and week (``DigestRun``), so a repeated tick
or a retried task sends nothing twice."""

from __future__ import annotations

from celery import shared_task

from analytics import digest


@shared_task(name="analytics.tasks.digests_send_due")
def digests_send_due() -> int:
    return len(digest.digests_send_due())


@shared_task(name="analytics.tasks.rollups_compact")
def rollups_compact() -> int:
    """Fold the shard rows of settled days together (daily under beat)."""
    from analytics.services import rollups_compact as compact

    return compact()
