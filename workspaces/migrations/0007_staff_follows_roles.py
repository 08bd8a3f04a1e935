"""Until now every user was made staff; from here on only superusers and admins
of a workspace are (``workspaces.services.user_staff_sync``). Bring existing
users in line once."""

from django.db import migrations
from django.db.models import Exists, OuterRef, Q


def staff_follows_roles(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Membership = apps.get_model("workspaces", "Membership")
    admin_somewhere = Exists(Membership.objects.filter(user=OuterRef("pk"), role="admin"))
    User.objects.filter(is_staff=True).exclude(Q(is_superuser=True) | Q(admin_somewhere)).update(
        is_staff=False
    )
    User.objects.filter(is_staff=False).filter(Q(is_superuser=True) | Q(admin_somewhere)).update(
        is_staff=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0006_personal_data_erasure"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(staff_follows_roles, migrations.RunPython.noop)]
