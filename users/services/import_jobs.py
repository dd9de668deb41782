"""Queueing a confirmed users import (the admin's confirm step) as a background job; the job's
own work is users.services.imports'."""

import uuid

from django.core.files.base import ContentFile
from django.db import transaction

from users.models import User, UserImportJob
from users.tasks import import_users


def user_import_job_create(
    *, content: bytes, file_name: str, file_format: str, total: int, created_by: User
) -> UserImportJob:
    """Store a previewed users file and queue the background task that imports it. If the job
    cannot be queued, the file (plaintext passwords) is deleted at once."""
    job = UserImportJob(file_name=file_name[:255], file_format=file_format, total=total, created_by=created_by)
    job.file.save(f"{uuid.uuid4().hex}.{file_format}", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            job.save()
            import_users(job.pk, verbose_name=f"user import #{job.pk}", creator=created_by)
    except BaseException:
        job.file.delete(save=False)
        raise
    return job
