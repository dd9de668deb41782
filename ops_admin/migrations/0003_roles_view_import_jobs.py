from django.db import migrations

from ops_admin.roles import roles_apply


def reapply_roles(apps, schema_editor):
    # the roles table gained users.view_userimportjob (every role views import jobs)
    roles_apply(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("ops_admin", "0002_roles"),
        ("users", "0007_userimportjob"),
    ]

    operations = [migrations.RunPython(reapply_roles, migrations.RunPython.noop)]
