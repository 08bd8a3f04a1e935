"""Rollup rows that keep two of survey, plan and locale apart and sum over the third
(``grain`` survey_plan, survey_locale, plan_locale), so a read filtered by two of
them no longer sums the detail rows of every value of the third. The summarised
days of existing workspaces are added up into them here, from their detail rows,
so reads find them at once: one workspace at a time, each its own short
transaction (``atomic = False``; see migration 0003)."""

import importlib

from django.db import migrations, models

from config.migration_ops import batched

grains = importlib.import_module("analytics.migrations.0003_rollup_grains")

# grain: the dimensions it keeps apart (the third is summed).
KEEPS = {
    "survey_plan": ("survey_id", "plan"),
    "survey_locale": ("survey_id", "locale"),
    "plan_locale": ("plan", "locale"),
}


@batched
def add_up_pair_grains(apps, schema_editor):
    grains.add_up(schema_editor, KEEPS)


@batched
def drop_pair_grains(apps, schema_editor):
    grains.drop(schema_editor, KEEPS)


class Migration(migrations.Migration):
    atomic = False

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
