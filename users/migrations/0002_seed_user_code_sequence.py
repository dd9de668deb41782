from django.db import migrations


def seed(apps, schema_editor):
    # the counter row exists before the first concurrent create, so allocation never races an INSERT
    apps.get_model("users", "UserCodeSequence").objects.get_or_create(prefix="UC")


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
