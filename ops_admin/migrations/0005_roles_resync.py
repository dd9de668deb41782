from django.db import migrations

from ops_admin.roles import roles_apply


def reapply_roles(apps, schema_editor):
    # the roles table gained users.view_userresyncjob (every role) and users.resync_users (Ops)
    roles_apply(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("ops_admin", "0004_unlock_logins"),
        ("users", "0012_userresyncjob"),
    ]

    operations = [migrations.RunPython(reapply_roles, migrations.RunPython.noop)]
