"""Importing users from CSV/XLSX through the admin: preview, then confirm (which queues a job,
run here at once)."""


import pytest
import tablib
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pubsub.models import QueuePublishHistory
from users.models import User, UserImportJob
from users.tasks import import_users
from users.tests.factories import StaffUserFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db
IMPORT = reverse("admin:users_user_import")
PROCESS = reverse("admin:users_user_process_import")
HEADERS = ["username", "email", "first_name", "last_name", "user_type", "password"]
GOOD_PASSWORD = "Quiet-Harbor-Lantern-42"


@pytest.fixture
def importer(client):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "add_user"]))
    client.force_login(user)
    return client


def dataset(rows, headers=HEADERS):
    return tablib.Dataset(*rows, headers=headers)


def format_index(client, extension):
    form = client.get(IMPORT).context["form"]
    return next(value for value, label in form.fields["format"].choices if label.lower() == extension)


def preview(client, data, *, extension="csv"):
    content = data.export(extension)
    upload = SimpleUploadedFile(f"users.{extension}", content if isinstance(content, bytes) else content.encode())
    return client.post(IMPORT, {"import_file": upload, "format": format_index(client, extension)})


def confirm(client, response):
    """Confirm the preview, then run the import job it queued as the scheduler would."""
    form = response.context["confirm_form"]
    response = client.post(PROCESS, {name: form.initial.get(name, "") for name in form.fields}, follow=True)
    for job_id in UserImportJob.objects.filter(status=UserImportJob.Status.QUEUED).values_list("pk", flat=True):
        import_users.task_function(job_id)
    return response


def row(username, password=GOOD_PASSWORD, user_type="student"):
    return (username, f"{username}@example.com", "First", "Last", user_type, password)


def test_preview_writes_nothing(importer):
    messages_before = QueuePublishHistory.objects.count()

    response = preview(importer, dataset([row("new-one"), row("new-two")]))

    assert response.status_code == 200
    assert response.context["confirm_form"] is not None
    assert not User.objects.filter(username__startswith="new-").exists()
    assert QueuePublishHistory.objects.count() == messages_before


def test_confirmed_import_creates_users_with_one_outbox_message_each(importer):
    response = confirm(importer, preview(importer, dataset([row("new-one"), row("new-two")])))

    assert response.status_code == 200
    users = User.objects.filter(username__startswith="new-")
    assert users.count() == 2
    for user in users:
        assert QueuePublishHistory.objects.filter(message_body_json__source_id=user.pk).count() == 1


def test_imported_passwords_are_hashed_and_work(importer):
    confirm(importer, preview(importer, dataset([row("new-one")])))

    user = User.objects.get(username="new-one")
    assert GOOD_PASSWORD not in user.password
    assert user.check_password(GOOD_PASSWORD)
    assert user.user_code


def test_xlsx_import_works(importer):
    confirm(importer, preview(importer, dataset([row("from-xlsx")]), extension="xlsx"))

    assert User.objects.filter(username="from-xlsx").exists()


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        (row("weak", password="123"), "password"),
        (row("typo", user_type="wizard"), "user_type"),
        (row("taken"), "username"),
    ],
)
def test_invalid_row_is_reported_and_nothing_can_be_confirmed(importer, bad_row, field):
    UserFactory(username="taken")

    response = preview(importer, dataset([row("fine-one"), bad_row]))

    result = response.context["result"]
    assert [r.number for r in result.invalid_rows] == [2]
    assert field in result.invalid_rows[0].error_dict
    assert response.context.get("confirm_form") is None
    assert not User.objects.filter(username="fine-one").exists()


def test_duplicate_usernames_within_the_file_are_reported(importer):
    response = preview(importer, dataset([row("twice"), row("twice")]))

    assert [r.number for r in response.context["result"].invalid_rows] == [2]


def test_staff_import_ignores_privilege_columns(importer):
    headers = HEADERS + ["is_superuser", "is_staff"]
    confirm(importer, preview(importer, dataset([row("sneaky") + ("1", "1")], headers=headers)))

    user = User.objects.get(username="sneaky")
    assert not user.is_superuser
    assert not user.is_staff


def test_superuser_import_may_set_privileges(client):
    client.force_login(SuperuserFactory())
    headers = HEADERS + ["is_staff"]

    confirm(client, preview(client, dataset([row("new-staff") + ("1",)], headers=headers)))

    assert User.objects.get(username="new-staff").is_staff


def test_import_needs_add_permission(client):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename="view_user"))
    client.force_login(user)

    assert client.get(IMPORT).status_code == 403
