from django.db import migrations

from ops_admin.roles import roles_apply


def reapply_roles(apps, schema_editor):
    # the roles table gained the axes models (everyone views login lockouts) and Ops' unlock_logins
    roles_apply(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("ops_admin", "0003_roles_view_import_jobs"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="operations",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("view_dashboard", "Can view the operations dashboard"),
                    ("run_workers", "Can trigger one-off worker runs (relay pass, dead-letter drain)"),
                    ("run_scheduled_tasks", "Can run due scheduled tasks now"),
                    ("flush_tokens", "Can flush expired JWT tokens"),
                    ("purge_api_hits", "Can purge old API hits"),
                    ("manage_tokens", "Can blacklist tokens and revoke a user's tokens"),
                    ("unlock_logins", "Can unlock logins locked out after repeated failures"),
                ],
            },
        ),
        migrations.RunPython(reapply_roles, migrations.RunPython.noop),
    ]
