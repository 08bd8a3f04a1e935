"""Rollup rows that keep two of survey, plan and locale apart and sum over the third
(``grain`` survey_plan, survey_locale, plan_locale), so a read filtered by two of
them no longer sums the detail rows of every value of the third. The summarised
days of existing workspaces are added up into them here, from their detail rows,
so reads find them at once."""

from django.db import migrations, models

TABLE = "analytics_sessionrollup"
# grain: the dimensions it keeps apart (the third is summed: survey 0, plan and
# locale empty).
KEEPS = {
    "survey_plan": ("survey_id", "plan"),
    "survey_locale": ("survey_id", "locale"),
    "plan_locale": ("plan", "locale"),
}
SUMMED = {"survey_id": "0", "plan": "''", "locale": "''"}


def add_up_pair_grains(apps, schema_editor):
    for grain, kept in KEEPS.items():
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


def drop_pair_grains(apps, schema_editor):
    schema_editor.execute(
        f"DELETE FROM {TABLE} WHERE grain IN ({', '.join(repr(g) for g in KEEPS)})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_rollup_by_plan"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sessionrollup",
            name="grain",
            field=models.CharField(
                choices=[
                    ("detail", "Every survey, plan and locale apart"),
                    ("total", "Summed over surveys, plans and locales"),
                    ("survey", "By survey only"),
                    ("plan", "By plan only"),
                    ("locale", "By locale only"),
                    ("survey_plan", "By survey and plan"),
                    ("survey_locale", "By survey and locale"),
                    ("plan_locale", "By plan and locale"),
                ],
                default="detail",
                max_length=16,
            ),
        ),
        migrations.RunPython(add_up_pair_grains, drop_pair_grains),
    ]
