"""What a users import's background job does (validate the file, hash the passwords, write the
users), and the purge of the files no job will read. The admin's confirm queues the job with
users.services.import_jobs."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from auditlog.context import set_actor
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from users.models import User, UserImportJob, user_codes_allocate
from users.resources import import_format_for, import_row_password, user_import_resource_class_for

logger = logging.getLogger(__name__)


# invalid rows listed in a failed import job's error text; the rest are counted
USER_IMPORT_ERRORS_SHOWN = 100

# the admin import's previewed files, a folder of the "import_export" storage (users.admin)
USER_IMPORT_PREVIEW_FOLDER = "previews"


class UserImportInvalid(Exception):
    """The file does not validate (any more): nothing is written."""


def user_import_job_run(*, job_id: int) -> UserImportJob | None:
    """Import a queued job's file: validate every row as the preview did, hash the passwords on
    all cores, then write every user in one transaction (each through User.save, so its
    post_save signal writes its one outbox message). Any error writes nothing and is recorded
    on the job. The file, which holds plaintext passwords, is deleted however the job ends."""
    claimed = UserImportJob.objects.filter(
        pk=job_id, status__in=[UserImportJob.Status.QUEUED, UserImportJob.Status.RUNNING]
    ).update(status=UserImportJob.Status.RUNNING, started_at=timezone.now(), processed=0, error="")
    if not claimed:
        return UserImportJob.objects.filter(pk=job_id).first()
    job = UserImportJob.objects.get(pk=job_id)
    try:
        users, passwords = _user_import_validate(job=job)
        _user_import_hash_passwords(job=job, users=users, passwords=passwords)
        _user_import_write(job=job, users=users)
        job.status, job.processed = UserImportJob.Status.DONE, len(users)
    except UserImportInvalid as exc:
        job.status, job.error = UserImportJob.Status.FAILED, str(exc)
    except Exception as exc:
        logger.exception("user import #%s failed", job.pk)
        job.status, job.error = UserImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        _user_import_file_delete(job=job)
        job.file = ""
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "processed", "total", "error", "file", "finished_at"])
    return job


def _user_import_file_delete(*, job: UserImportJob) -> None:
    if not job.file:
        return
    try:
        job.file.delete(save=False)
    except OSError:
        # the job's outcome is recorded all the same; the hourly purge deletes a file no job holds
        logger.exception("user import #%s: its file could not be deleted", job.pk)


def user_import_files_purge_stale(*, older_than: datetime) -> int:
    """Delete the users files nobody will read any more, last written before `older_than`: previews
    never confirmed (abandoned, or left by a request that failed) and confirmed files that no
    queued or running job holds (a job that could not be queued, a delete that failed). They hold
    plaintext passwords. Returns how many were deleted."""
    job_storage = UserImportJob._meta.get_field("file").storage
    held = set(
        UserImportJob.objects.filter(status__in=[UserImportJob.Status.QUEUED, UserImportJob.Status.RUNNING])
        .exclude(file="")
        .values_list("file", flat=True)
    )
    deleted = 0
    for storage, folder in ((job_storage, ""), (storages["import_export"], USER_IMPORT_PREVIEW_FOLDER)):
        try:
            _folders, names = storage.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            path = f"{folder}/{name}" if folder else name
            if path in held:
                continue
            try:
                if storage.get_modified_time(path) >= older_than:
                    continue
                storage.delete(path)
            except FileNotFoundError:
                continue  # confirmed or imported meanwhile
            deleted += 1
    return deleted


def _user_import_validate(*, job: UserImportJob) -> tuple[list[User], list[str]]:
    """The file's users, validated and unsaved, and their plaintext passwords, in file order."""
    input_format = import_format_for(extension=job.file_format)()
    with job.file.open("rb") as stored:
        data = stored.read()
    if not input_format.is_binary():
        data = data.decode("utf-8-sig")
    dataset = input_format.create_dataset(data)
    job.total = len(dataset)
    UserImportJob.objects.filter(pk=job.pk).update(total=job.total)
    resource = user_import_resource_class_for(job.created_by)()
    # a dry run: the resource validates and keeps the instances, it saves nothing
    result = resource.import_data(dataset, dry_run=True, raise_errors=False, user=job.created_by)
    if result.has_errors():
        raise UserImportInvalid(
            "; ".join(str(error.error) for error in result.base_errors) or "the file could not be read"
        )
    if result.has_validation_errors():
        lines = [
            f"Row {row.number}: "
            + "; ".join(f"{field}: {' '.join(messages)}" for field, messages in row.error_dict.items())
            for row in result.invalid_rows[:USER_IMPORT_ERRORS_SHOWN]
        ]
        hidden = len(result.invalid_rows) - len(lines)
        if hidden > 0:
            lines.append(f"… and {hidden} more invalid rows.")
        raise UserImportInvalid("\n".join(lines))
    rows = result.valid_rows()
    return [row.instance for row in rows], [import_row_password(row.row_values) for row in rows]


def _user_import_hash_passwords(*, job: UserImportJob, users: list[User], passwords: list[str]) -> None:
    """Set each user's password from the plaintext one at the same place in `passwords`, hashed
    on settings.USER_IMPORT_HASH_THREADS threads (PBKDF2 runs in hashlib with the GIL released),
    writing the progress about a hundred times."""
    step = max(100, len(users) // 100)
    plain = [password or None for password in passwords]
    with ThreadPoolExecutor(max_workers=settings.USER_IMPORT_HASH_THREADS) as pool:
        for done, (user, hashed) in enumerate(zip(users, pool.map(make_password, plain), strict=True), 1):
            # an empty password makes an unusable one, as the API does
            user.password = hashed
            if done % step == 0:
                UserImportJob.objects.filter(pk=job.pk).update(processed=done)


def _user_import_write(*, job: UserImportJob, users: list[User]) -> None:
    written = 0  # rows saved; the one that failed is the next
    try:
        with set_actor(job.created_by), transaction.atomic():
            for user, code in zip(users, user_codes_allocate(count=len(users)), strict=True):
                user.user_code = code
                user.save(force_insert=True)
                written += 1
    except Exception as exc:
        number = min(written + 1, len(users))
        username = users[number - 1].username if users else ""
        raise UserImportInvalid(
            f"Row {number} ({username}): {type(exc).__name__}: {exc}; nothing was imported."
        ) from exc
