from django.db import migrations

from ops_admin.roles import AUDITOR, OPS, SUPPORT, roles_apply


def create_roles(apps, schema_editor):
    roles_apply(apps=apps)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[AUDITOR, SUPPORT, OPS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ops_admin", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("users", "0005_sync_conflict_admin"),
        ("pubsub", "0002_outbox_admin_permissions"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
        ("auditlog", "0017_add_actor_email"),
        ("background_task", "0004_auto_20220202_1721"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
