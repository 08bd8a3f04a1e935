from django.db import migrations

# Frozen copy of surveys.taxonomy.CATEGORIES at the time of this migration.
CATEGORIES = {
    "price": (1, "too_expensive"),
    "product_quality": (2, "low_quality"),
    "customer_service": (3, "customer_service"),
    "competitor": (4, "switched_service"),
    "missing_features": (5, "missing_features"),
    "too_complex": (6, "too_complex"),
    "not_needed": (7, "unused"),
    "values": (8, "other"),
    "other": (9, "other"),
}


def create_categories(apps, schema_editor):
    Category = apps.get_model("surveys", "Category")
    for code, (position, feedback) in CATEGORIES.items():
        Category.objects.update_or_create(
            code=code, defaults={"position": position, "stripe_feedback": feedback}
        )


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = [migrations.RunPython(create_categories, migrations.RunPython.noop)]
