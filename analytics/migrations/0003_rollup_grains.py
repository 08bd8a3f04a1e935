"""Rollup rows summed over all but one of survey, plan and locale (``grain``),
beside those summed over all three (which ``totals`` marked): the summarised days
of existing workspaces are added up into the new grains here, from their detail
rows, so reads find them at once."""

from django.db import migrations, models

TABLE = "analytics_sessionrollup"
# grain: the dimensions its rows keep apart (the others are summed: survey 0, plan
# and locale empty).
KEEPS = {"survey": ("survey_id",), "plan": ("plan",), "locale": ("locale",)}
SUMMED = {"survey_id": "0", "plan": "''", "locale": "''"}


def add_up(schema_editor, keeps):
    """Add the summarised days' detail rows up into the grains of ``keeps`` (also
    used by later migrations that add grains)."""
    for grain, kept in keeps.items():
        values = ", ".join(f"r.{d}" if d in kept else SUMMED[d] for d in SUMMED)
        schema_editor.execute(
            f"INSERT INTO {TABLE} (workspace_id, period, grain, day, survey_id, plan, locale, "
            "reason_code, category_code, offer_id, outcome, shard, sessions, mrr_cents, "
            "completed_seconds) "
            f"SELECT r.workspace_id, r.period, '{grain}', r.day, {values}, r.reason_code, "
            "r.category_code, r.offer_id, r.outcome, 0, SUM(r.sessions), SUM(r.mrr_cents), "
            "SUM(r.completed_seconds) "
            f"FROM {TABLE} r JOIN analytics_rollupsummary s ON s.workspace_id = r.workspace_id "
            "WHERE r.grain = 'detail' AND s.until IS NOT NULL "
            "AND (r.period <> 'day' OR r.day < s.until) "
            f"GROUP BY r.workspace_id, r.period, r.day, {', '.join(f'r.{d}' for d in kept)}, "
            "r.reason_code, r.category_code, r.offer_id, r.outcome "
            # Rows a session has moved out of hold zeros until compaction drops them.
            "HAVING SUM(r.sessions) <> 0 OR SUM(r.mrr_cents) <> 0 "
            "OR SUM(r.completed_seconds) <> 0"
        )


def drop(schema_editor, keeps):
    schema_editor.execute(
        f"DELETE FROM {TABLE} WHERE grain IN ({', '.join(repr(g) for g in keeps)})"
    )


def add_up_grains(apps, schema_editor):
    add_up(schema_editor, KEEPS)


def drop_grains(apps, schema_editor):
    drop(schema_editor, KEEPS)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_rollup_periods_and_totals"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="sessionrollup", name="session_rollup_key"),
        migrations.AddField(
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
        migrations.RunSQL(
            f"UPDATE {TABLE} SET grain = 'total' WHERE totals",
            f"UPDATE {TABLE} SET totals = (grain = 'total')",
        ),
        migrations.RemoveField(model_name="sessionrollup", name="totals"),
        migrations.AddConstraint(
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
