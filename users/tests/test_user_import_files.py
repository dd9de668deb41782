"""Where a users import's files live (previews and confirmed files: one shared directory, not a web
host's /tmp) and that none outlives its use: they hold plaintext passwords."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import tablib
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from users.models import User, UserImportJob
from users.services.import_jobs import user_import_job_create
from users.services.imports import user_import_files_purge_stale
from users.tasks import import_users
from users.tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
IMPORT = reverse("admin:users_user_import")
PROCESS = reverse("admin:users_user_process_import")
HEADERS = ["username", "email", "first_name", "last_name", "user_type", "password"]
GOOD_PASSWORD = "Quiet-Harbor-Lantern-42"


def row(username, password=GOOD_PASSWORD):
    return (username, f"{username}@example.com", "First", "Last", "student", password)


def csv_bytes(rows):
    return tablib.Dataset(*rows, headers=HEADERS).export("csv").encode()


@pytest.fixture
def importer(db):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "add_user"]))
    return user


@pytest.fixture
def user_admin():
    return admin.site._registry[User]


@pytest.fixture
def preview_file(user_admin):
    """The admin's temporary storage of a preview named `name` (as its confirm form carries it)."""

    def _preview_file(name):
        return user_admin.get_tmp_storage_class()(
            name=name, read_mode="rb", **user_admin.get_tmp_storage_class_kwargs()
        )

    return _preview_file


@pytest.fixture
def written_previews(monkeypatch, user_admin):
    """Names of the preview files the admin writes during the test."""
    names = []
    write = type(user_admin).write_to_tmp_storage

    def recording_write(self, import_file, input_format):
        tmp_storage = write(self, import_file, input_format)
        names.append(tmp_storage.name)
        return tmp_storage

    monkeypatch.setattr(type(user_admin), "write_to_tmp_storage", recording_write)
    return names


def preview(client, rows):
    return client.post(IMPORT, {"import_file": SimpleUploadedFile("users.csv", csv_bytes(rows)), "format": "0"})


def confirm_data(response):
    form = response.context["confirm_form"]
    return {name: form.initial.get(name, "") for name in form.fields}


def job_files():
    storage = UserImportJob._meta.get_field("file").storage
    return set(storage.listdir("")[1]) if os.path.isdir(storage.location) else set()


def local_path(tmp_storage) -> Path:
    # whatever the temporary storage class: a MediaStorage's Django storage, or the temp folder
    storage = getattr(tmp_storage, "_storage", None)
    return Path(storage.path(tmp_storage.get_full_path()) if storage else tmp_storage.get_full_path()).resolve()


def test_preview_file_is_kept_in_the_shared_import_directory_not_in_a_hosts_temp_folder(client, importer, preview_file):
    client.force_login(importer)

    name = confirm_data(preview(client, [row("file-one")]))["import_file_name"]

    job_root = Path(UserImportJob._meta.get_field("file").storage.location).resolve()
    path = local_path(preview_file(name))
    assert path.is_file()
    assert job_root in path.parents
    preview_file(name).remove()


def test_confirm_deletes_the_preview_file(client, importer, preview_file):
    client.force_login(importer)
    data = confirm_data(preview(client, [row("file-one")]))

    client.post(PROCESS, data)

    with pytest.raises(FileNotFoundError):
        preview_file(data["import_file_name"]).read()
    UserImportJob.objects.get().file.delete(save=False)


def test_preview_with_rows_in_error_leaves_no_file(client, importer, preview_file, written_previews):
    client.force_login(importer)

    response = preview(client, [row("file-one"), row("file-weak", password="123")])

    assert response.context.get("confirm_form") is None
    assert len(written_previews) == 1
    with pytest.raises(FileNotFoundError):
        preview_file(written_previews[0]).read()


def test_preview_that_fails_leaves_no_file(client, importer, preview_file, written_previews, monkeypatch):
    from users.resources import UserImportResource

    def failing_import(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(UserImportResource, "import_data", failing_import)
    client.force_login(importer)
    client.raise_request_exception = True

    with pytest.raises(RuntimeError):
        preview(client, [row("file-one")])

    assert len(written_previews) == 1
    with pytest.raises(FileNotFoundError):
        preview_file(written_previews[0]).read()


def test_confirm_of_a_preview_no_longer_there_asks_to_upload_again(client, importer, preview_file):
    client.force_login(importer)
    data = confirm_data(preview(client, [row("file-one")]))
    preview_file(data["import_file_name"]).remove()

    response = client.post(PROCESS, data, follow=True)

    assert response.redirect_chain[-1][0] == IMPORT
    assert "Upload it again" in response.content.decode()
    assert not UserImportJob.objects.exists()


def test_job_that_cannot_be_queued_leaves_no_file(importer, monkeypatch):
    import users.services.import_jobs

    def failing_queue(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(users.services.import_jobs, "import_users", failing_queue)
    before = job_files()

    with pytest.raises(RuntimeError):
        user_import_job_create(
            content=csv_bytes([row("file-one")]), file_name="users.csv", file_format="csv", total=1, created_by=importer
        )

    assert job_files() == before


def test_job_deletes_its_file_when_it_fails_with_an_error(importer, monkeypatch):
    job = user_import_job_create(
        content=csv_bytes([row("file-one")]), file_name="users.csv", file_format="csv", total=1, created_by=importer
    )
    storage, name = job.file.storage, job.file.name

    def failing_save(user, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(User, "save", failing_save)

    import_users.task_function(job.pk)

    job.refresh_from_db()
    assert job.status == UserImportJob.Status.FAILED
    assert not storage.exists(name)


def test_job_records_its_outcome_even_when_its_file_cannot_be_deleted(importer, monkeypatch):
    job = user_import_job_create(
        content=csv_bytes([row("file-one")]), file_name="users.csv", file_format="csv", total=1, created_by=importer
    )
    storage, name = job.file.storage, job.file.name
    delete = type(storage).delete

    def failing_delete(self, path):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(type(storage), "delete", failing_delete)

    import_users.task_function(job.pk)

    job.refresh_from_db()
    assert (job.status, job.file.name) == (UserImportJob.Status.DONE, "")
    delete(storage, name)


def age(storage, path, *, hours):
    then = (timezone.now() - timedelta(hours=hours)).timestamp()
    os.utime(storage.path(path), (then, then))


@pytest.fixture
def preview_storage(user_admin):
    tmp = user_admin.get_tmp_storage_class()(**user_admin.get_tmp_storage_class_kwargs())
    return tmp._storage, tmp.MEDIA_FOLDER


def test_purge_deletes_previews_never_confirmed_and_keeps_recent_ones(preview_storage):
    storage, folder = preview_storage
    old = storage.save(f"{folder}/abandoned", ContentFile(b"x"))
    recent = storage.save(f"{folder}/in-progress", ContentFile(b"x"))
    age(storage, old, hours=3)

    user_import_files_purge_stale(older_than=timezone.now() - timedelta(hours=1))

    assert not storage.exists(old)
    assert storage.exists(recent)
    storage.delete(recent)


def test_purge_deletes_a_file_no_job_holds_but_keeps_a_waiting_jobs_file(importer):
    waiting = user_import_job_create(
        content=csv_bytes([row("file-one")]), file_name="users.csv", file_format="csv", total=1, created_by=importer
    )
    storage = waiting.file.storage
    orphan = storage.save("orphan.csv", ContentFile(b"x"))
    age(storage, orphan, hours=3)
    age(storage, waiting.file.name, hours=3)

    deleted = user_import_files_purge_stale(older_than=timezone.now() - timedelta(hours=1))

    assert deleted >= 1
    assert not storage.exists(orphan)
    assert storage.exists(waiting.file.name)
    waiting.file.delete(save=False)


def test_stale_import_files_are_purged_hourly_by_the_scheduler():
    from background_task.models import Task

    from scheduler.registry import registered_tasks

    periods = {each.task.name: each.every_secs for each in registered_tasks()}

    assert periods["users.tasks.purge_stale_user_import_files"] == Task.HOURLY
