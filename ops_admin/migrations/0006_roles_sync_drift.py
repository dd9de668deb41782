from django.db import migrations

from ops_admin.roles import roles_apply


def reapply_roles(apps, schema_editor):
    # the roles table gained users.view_syncdrift (every role) and request_resync_syncdrift (Support, Ops)
    roles_apply(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("ops_admin", "0005_roles_resync"),
        ("users", "0013_syncdrift"),
    ]

    operations = [migrations.RunPython(reapply_roles, migrations.RunPython.noop)]
