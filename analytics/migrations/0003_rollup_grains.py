"""Rollup rows summed over all but one of survey, plan and locale (``grain``),
beside those summed over all three (which ``totals`` marked): the summarised days
of existing workspaces are added up into the new grains here, from their detail
rows, so reads find them at once.

Safe on a large rollup table (see ``config/migration_ops/``): rows are marked
in batches, the new key is built concurrently on PostgreSQL, and the grains are
added up one workspace at a time, each its own short transaction. Hence
``atomic = False``."""

from django.db import migrations, models

from config.migration_ops import AddFieldIfMissing, AddUniqueConstraintConcurrently, RemoveConstraintIfPresent, RemoveFieldIfPresent, batched, progress, run_in_batches

TABLE = "analytics_sessionrollup"
# grain: the dimensions its rows keep apart (the others are summed: survey 0, plan
# and locale empty).
KEEPS = {"survey": ("survey_id",), "plan": ("plan",), "locale": ("locale",)}
SUMMED = {"survey_id": "0", "plan": "''", "locale": "''"}


def add_up(schema_editor, keeps):
    """Add the summarised days' detail rows up into the grains of ``keeps`` (also
    used by later migrations that add grains), one workspace at a time."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT workspace_id FROM analytics_rollupsummary WHERE until IS NOT NULL "
            "ORDER BY workspace_id"
        )
        workspaces = [row[0] for row in cursor.fetchall()]
    with progress(f"rollup grains {', '.join(keeps)}", len(workspaces)) as advance:
        for workspace_id in workspaces:
            # Outside a transaction (atomic = False) each statement commits alone.
            for grain, kept in keeps.items():
                schema_editor.execute(add_up_sql(grain, kept), [workspace_id])
            advance(1)


def add_up_sql(grain, kept):
    values = ", ".join(f"r.{d}" if d in kept else SUMMED[d] for d in SUMMED)
    return (
        f"INSERT INTO {TABLE} (workspace_id, period, grain, day, survey_id, plan, locale, "
        "reason_code, category_code, offer_id, outcome, shard, sessions, mrr_cents, "
        "completed_seconds) "
        f"SELECT r.workspace_id, r.period, '{grain}', r.day, {values}, r.reason_code, "
        "r.category_code, r.offer_id, r.outcome, 0, SUM(r.sessions), SUM(r.mrr_cents), "
        "SUM(r.completed_seconds) "
        f"FROM {TABLE} r JOIN analytics_rollupsummary s ON s.workspace_id = r.workspace_id "
        "WHERE r.grain = 'detail' AND s.until IS NOT NULL AND r.workspace_id = %s "
        "AND (r.period <> 'day' OR r.day < s.until) "
        f"GROUP BY r.workspace_id, r.period, r.day, {', '.join(f'r.{d}' for d in kept)}, "
        "r.reason_code, r.category_code, r.offer_id, r.outcome "
        # Rows a session has moved out of hold zeros until compaction drops them.
        "HAVING SUM(r.sessions) <> 0 OR SUM(r.mrr_cents) <> 0 "
        "OR SUM(r.completed_seconds) <> 0 "
        # A workspace done before a stop is done again without harm.
        "ON CONFLICT DO NOTHING"
    )


def drop(schema_editor, keeps):
    grains = ", ".join(repr(g) for g in keeps)
    run_in_batches(
        schema_editor,
        table=TABLE,
        statement=f"DELETE FROM {TABLE} WHERE grain IN ({grains}) AND id >= %s AND id < %s",
        label=f"rollup grains {', '.join(keeps)} dropped",
    )


@batched
def add_up_grains(apps, schema_editor):
    add_up(schema_editor, KEEPS)


@batched
def drop_grains(apps, schema_editor):
    drop(schema_editor, KEEPS)


@batched
def mark_totals(apps, schema_editor):
    run_in_batches(
        schema_editor,
        table=TABLE,
        statement=f"UPDATE {TABLE} SET grain = 'total' WHERE totals AND id >= %s AND id < %s",
        label="rollup totals marked",
    )


@batched
def unmark_totals(apps, schema_editor):
    run_in_batches(
        schema_editor,
        table=TABLE,
        statement=f"UPDATE {TABLE} SET totals = TRUE WHERE grain = 'total' AND id >= %s AND id < %s",
        label="rollup totals marked",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("analytics", "0002_rollup_periods_and_totals"),
    ]

    operations = [
        RemoveConstraintIfPresent(model_name="sessionrollup", name="session_rollup_key"),
        AddFieldIfMissing(
            model_name="sessionrollup",
            name="grain",
            field=models.CharField(
                choices=[
                    ("detail", "Every survey, plan and locale apart"),
                    ("total", "Summed over surveys, plans and locales"),
                    ("survey", "By survey only"),
                    ("plan", "By plan only"),
                    ("locale", "By locale only"),
                ],
                default="detail",
                max_length=6,
            ),
        ),
        migrations.RunPython(mark_totals, unmark_totals),
        RemoveFieldIfPresent(model_name="sessionrollup", name="totals"),
        AddUniqueConstraintConcurrently(
            model_name="sessionrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "workspace",
                    "period",
                    "grain",
                    "day",
                    "survey_id",
                    "plan",
                    "locale",
                    "reason_code",
                    "category_code",
                    "offer_id",
                    "outcome",
                    "shard",
                ),
                name="session_rollup_key",
            ),
        ),
        migrations.RunPython(add_up_grains, drop_grains),
    ]
