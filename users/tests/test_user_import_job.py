"""The users import's background job, the confirm step that queues it, and a 10,000-row preview."""

import pytest
import tablib
from background_task.models import Task
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pubsub.models import QueuePublishHistory
from users.models import User, UserImportJob
from users.services.import_jobs import user_import_job_create
from users.tasks import import_users
from users.tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db
IMPORT = reverse("admin:users_user_import")
PROCESS = reverse("admin:users_user_process_import")
HEADERS = ["username", "email", "first_name", "last_name", "user_type", "password"]
GOOD_PASSWORD = "Quiet-Harbor-Lantern-42"


def row(username, password=GOOD_PASSWORD, user_type="student"):
    return (username, f"{username}@example.com", "First", "Last", user_type, password)


def csv_bytes(rows):
    return tablib.Dataset(*rows, headers=HEADERS).export("csv").encode()


@pytest.fixture
def importer(db):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "add_user"]))
    return user


@pytest.fixture
def queue_job(importer):
    """Queue an import job of `rows` as the confirm step does; its file is removed afterwards."""
    jobs = []

    def _queue_job(rows):
        job = user_import_job_create(
            content=csv_bytes(rows), file_name="users.csv", file_format="csv", total=len(rows), created_by=importer
        )
        jobs.append(job)
        return job

    yield _queue_job
    for job in UserImportJob.objects.filter(pk__in=[job.pk for job in jobs]).exclude(file=""):
        job.file.delete(save=False)


def run(job):
    import_users.task_function(job.pk)
    job.refresh_from_db()
    return job


def test_job_creates_users_with_hashed_passwords_and_one_outbox_message_each(queue_job):
    messages_before = QueuePublishHistory.objects.count()

    run(queue_job([row("job-one"), row("job-two"), row("job-three")]))

    users = list(User.objects.filter(username__startswith="job-"))
    assert len(users) == 3
    assert all(user.check_password(GOOD_PASSWORD) and GOOD_PASSWORD not in user.password for user in users)
    assert all(user.user_code for user in users)
    assert QueuePublishHistory.objects.count() == messages_before + 3
    for user in users:
        assert (
            QueuePublishHistory.objects.filter(
                message_body_json__source_id=user.pk, message_type="user.created"
            ).count()
            == 1
        )


def test_job_gives_each_user_the_password_of_its_own_row(queue_job):
    run(
        queue_job(
            [row("pw-one", "Amber-Falcon-Quarry-17"), row("pw-two", ""), row("pw-three", "Velvet-Comet-Ridge-58")]
        )
    )

    users = {user.username: user for user in User.objects.filter(username__startswith="pw-")}
    assert users["pw-one"].check_password("Amber-Falcon-Quarry-17")
    assert not users["pw-two"].has_usable_password()
    assert users["pw-three"].check_password("Velvet-Comet-Ridge-58")


def test_job_records_the_importer_as_registering_the_users(queue_job, importer):
    run(queue_job([row("job-one")]))

    assert User.objects.get(username="job-one").registered_by == importer


def test_job_progress_ends_done_with_every_row_processed(queue_job):
    job = run(queue_job([row("job-one"), row("job-two")]))

    assert job.status == UserImportJob.Status.DONE
    assert (job.total, job.processed) == (2, 2)
    assert job.started_at is not None
    assert job.finished_at >= job.started_at
    assert job.error == ""


def test_job_with_an_invalid_row_writes_nothing_and_records_the_error(queue_job):
    messages_before = QueuePublishHistory.objects.count()

    job = run(queue_job([row("job-one"), row("job-weak", password="123"), row("job-three")]))

    assert job.status == UserImportJob.Status.FAILED
    assert job.error.startswith("Row 2: password:")
    assert not User.objects.filter(username__startswith="job-").exists()
    assert QueuePublishHistory.objects.count() == messages_before


def test_job_fails_on_a_username_taken_after_the_preview(queue_job):
    job = queue_job([row("job-one"), row("job-late")])
    UserFactory(username="job-late")

    job = run(job)

    assert job.status == UserImportJob.Status.FAILED
    assert "Row 2: username:" in job.error
    assert not User.objects.filter(username="job-one").exists()


def test_failure_while_writing_rolls_back_every_user(queue_job, monkeypatch):
    job = queue_job([row("job-one"), row("job-two"), row("job-three")])
    messages_before = QueuePublishHistory.objects.count()
    save = User.save

    def save_failing_on_the_third(user, *args, **kwargs):
        if user.username == "job-three":
            raise RuntimeError("database went away")
        return save(user, *args, **kwargs)

    monkeypatch.setattr(User, "save", save_failing_on_the_third)

    job = run(job)

    assert job.status == UserImportJob.Status.FAILED
    assert job.error.startswith("Row 3 (job-three): RuntimeError: database went away")
    assert not User.objects.filter(username__startswith="job-").exists()
    assert QueuePublishHistory.objects.count() == messages_before


@pytest.mark.parametrize("password", [GOOD_PASSWORD, "123"], ids=["done", "failed"])
def test_job_deletes_the_uploaded_file_however_it_ends(queue_job, password):
    job = queue_job([row("job-one", password=password)])
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)

    job = run(job)

    assert not storage.exists(name)
    assert job.file.name == ""


def test_finished_job_is_not_run_again(queue_job):
    job = run(queue_job([row("job-one")]))
    User.objects.filter(username="job-one").delete()

    assert run(job).status == UserImportJob.Status.DONE
    assert not User.objects.filter(username="job-one").exists()


def test_admin_confirm_queues_a_job_instead_of_importing(client, importer):
    client.force_login(importer)
    preview = client.post(
        IMPORT, {"import_file": SimpleUploadedFile("users.csv", csv_bytes([row("job-one")])), "format": "0"}
    )
    form = preview.context["confirm_form"]

    response = client.post(PROCESS, {name: form.initial.get(name, "") for name in form.fields})

    job = UserImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:users_userimportjob_change", args=[job.pk])
    assert (job.status, job.total, job.created_by) == (UserImportJob.Status.QUEUED, 1, importer)
    assert Task.objects.filter(task_name="users.tasks.import_users", task_params__startswith=f"[[{job.pk}]").exists()
    assert not User.objects.filter(username="job-one").exists()
    job.file.delete(save=False)


def test_importer_sees_the_job_page_with_its_progress(client, importer, queue_job):
    job = run(queue_job([row("job-one")]))
    client.force_login(importer)

    response = client.get(reverse("admin:users_userimportjob_change", args=[job.pk]))

    assert response.status_code == 200
    assert "1 users imported" in response.content.decode()


@pytest.mark.parametrize(
    ("password", "shown"),
    [
        ("Quiet-Harbor-Lantern-42", "job-one"),
        ("48213759106", "This password is entirely numeric"),
    ],
    ids=["valid", "invalid"],
)
def test_preview_page_never_shows_a_password(client, importer, password, shown):
    client.force_login(importer)

    response = client.post(
        IMPORT, {"import_file": SimpleUploadedFile("users.csv", csv_bytes([row("job-one", password)])), "format": "0"}
    )

    assert shown in response.content.decode()
    assert password not in response.content.decode()


def test_preview_of_10000_rows_completes(client, importer):
    rows = [row(f"bulk-{n:05d}") for n in range(10_000)]
    upload = SimpleUploadedFile("users.csv", csv_bytes(rows))
    client.force_login(importer)

    response = client.post(IMPORT, {"import_file": upload, "format": "0"})

    assert response.context["confirm_form"] is not None
    assert "bulk-00099" in response.content.decode()
    assert "bulk-00100" not in response.content.decode()
    assert len(response.context["result"].valid_rows()) == 10_000
    assert not User.objects.filter(username__startswith="bulk-").exists()
