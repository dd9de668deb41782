"""Business operations on users and their tokens. Views, admin and commands call these."""

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from auditlog.context import set_actor
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.services import model_update
from project.audit import audit_bulk
from project.batching import delete_in_batches
from users.models import User, UserImportJob, user_codes_allocate
from users.resources import import_format_for, import_row_password, user_import_resource_class_for
from users.selectors import user_get_active_by_email
from users.tokens import token_pair_for_user, tokens_revoke

logger = logging.getLogger(__name__)


def user_create(*, data: dict, created_by: User | None = None) -> User:
    data = dict(data)
    password = data.pop("password", None)
    user = User(**data, registered_by=created_by, updated_by=created_by)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password", "user_code"])
    user.save()
    return user


# what user_update changes (the API's writable fields; a password has services of its own)
USER_UPDATE_FIELDS = (
    "username",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "user_type",
    "is_active",
    "is_staff",
    "is_superuser",
    "gender",
    "phone_no",
    "dob",
    "nationality",
    "address",
    "class_teacher",
    "session",
    "semester",
    "stream",
    "course",
)


def user_update(*, user: User, data: dict, updated_by: User | None = None, current_password: str | None = None) -> User:
    """Change a user's fields, saving only those whose value changes: an update that changes
    nothing saves nothing and sends other deployments no message. Changing one's own e-mail takes
    one's current password: whoever holds the e-mail gets the password resets, so a stolen access
    token alone must not move it. The old address is told of any change of it."""
    old_email = user.email
    email_changes = "email" in data and data["email"] != old_email
    if email_changes and updated_by is not None and updated_by.pk == user.pk:
        if not current_password:
            raise ValidationError({"current_password": ["Your current password is needed to change your e-mail."]})
        if not user.check_password(current_password):
            raise ValidationError({"current_password": ["The current password is not correct."]})
    user, _ = model_update(
        instance=user,
        fields=USER_UPDATE_FIELDS,
        data=data,
        on_change={"updated_by": updated_by},
        clean_exclude=["password", "user_code"],
    )
    if old_email and user.email != old_email:
        _email_change_notify(user=user, old_email=old_email)
    return user


def _email_change_notify(*, user: User, old_email: str) -> None:
    """Tell the old address, so that its owner hears of a change they did not make."""
    send_mail(
        subject="Your e-mail address was changed",
        message=(
            f"Hello {user.get_username()},\n\n"
            f"The e-mail address of your account was changed from this one to another on "
            f"{timezone.now():%Y-%m-%d %H:%M} UTC. Password resets now go to the new address.\n\n"
            f"If it was not you, tell an administrator at once."
        ),
        from_email=None,
        recipient_list=[old_email],
    )


def tokens_revoke_for_user(*, user: User, actor: User | None = None) -> int:
    """Revoke every token of `user` at once: access tokens through the generation, refresh tokens
    through the blacklist too (so ops see them as blacklisted). Returns how many refresh tokens
    were blacklisted."""
    before = user.token_generation
    blacklisted = tokens_revoke(user_ids=[user.pk])
    user.refresh_from_db(fields=["token_generation"])
    _tokens_revocation_audit(user=user, actor=actor, before=before, blacklisted=blacklisted)
    return blacklisted


def _tokens_revocation_audit(*, user: User, actor: User | None, before: int, blacklisted: int) -> None:
    audit_bulk(
        model=User,
        actor=actor,
        action_name="revoke_tokens",
        entries=[
            (
                user.pk,
                str(user),
                {
                    "token_generation": [str(before), str(user.token_generation)],
                    "refresh_tokens_blacklisted": ["0", str(blacklisted)],
                },
            )
        ],
    )


def _user_save_and_audit_revocation(*, user: User, update_fields: list[str], actor: User | None) -> None:
    """Save a change that revokes the user's tokens (User.save revokes them: a new password, a
    deactivation) and record who revoked them, as tokens_revoke_for_user does."""
    before = user.token_generation
    with transaction.atomic():
        user.save(update_fields=update_fields)
        if user.tokens_revoked_on_save is not None:
            _tokens_revocation_audit(user=user, actor=actor, before=before, blacklisted=user.tokens_revoked_on_save)


def user_soft_delete(*, user: User, deleted_by: User | None) -> User:
    user.is_deleted = True
    user.is_active = False
    user.deleted_at = timezone.now()
    user.deleted_by = deleted_by
    user.updated_by = deleted_by
    _user_save_and_audit_revocation(
        user=user,
        actor=deleted_by,
        update_fields=["is_deleted", "is_active", "deleted_at", "deleted_by", "updated_by", "updated_at"],
    )
    return user


def user_change_password(*, user: User, old_password: str, new_password: str) -> dict[str, str]:
    """Change the password, revoke every existing token and return a fresh pair for the caller."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The current password is not correct."]})
    _password_set_and_revoke(user=user, new_password=new_password, updated_by=user)
    return token_pair_for_user(user)


def _password_set_and_revoke(*, user: User, new_password: str, updated_by: User | None) -> None:
    """Validate and set a new password; saving it revokes every token issued before it."""
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.updated_by = updated_by
    _user_save_and_audit_revocation(user=user, actor=updated_by, update_fields=["password", "updated_by", "updated_at"])


def password_reset_request(*, email: str) -> None:
    """E-mail a reset link to each matching account; says nothing about whether one exists.
    Staff and superusers get none unless PASSWORD_RESET_ALLOW_STAFF: whoever controls such an
    account's mailbox (or its e-mail field) would otherwise control the account."""
    for user in user_get_active_by_email(email=email, include_staff=settings.PASSWORD_RESET_ALLOW_STAFF):
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = settings.PASSWORD_RESET_URL.format(uid=uid, token=token)
        send_mail(
            subject="Reset your password",
            message=(
                f"Hello {user.get_username()},\n\n"
                f"Someone asked to reset your password. If it was you, open:\n{link}\n\n"
                f"uid: {uid}\ntoken: {token}\n\nIf it was not you, ignore this e-mail."
            ),
            from_email=None,
            recipient_list=[user.email],
        )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    invalid = ValidationError({"token": ["The reset link is invalid or has expired."]})
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_deleted=False)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise invalid from None
    if not default_token_generator.check_token(user, token):
        raise invalid
    if (user.is_staff or user.is_superuser) and not settings.PASSWORD_RESET_ALLOW_STAFF:
        # a link sent before the account became staff
        raise invalid
    _password_set_and_revoke(user=user, new_password=new_password, updated_by=user)
    return user


DEV_SUPERUSER_USERNAME = "admin"


def dev_superuser_ensure() -> User | None:
    """Create the development superuser (admin/admin) unless any superuser exists. Debug only."""
    if not settings.DEBUG:
        raise RuntimeError("the development superuser is only created with DEBUG on")
    if User.objects.filter(is_superuser=True).exists():
        return None
    return User.objects.create_superuser(
        username=DEV_SUPERUSER_USERNAME,
        email="admin@localhost",
        password=DEV_SUPERUSER_USERNAME,  # the dev password equals the name, by request
        user_type=User.UserType.ADMIN,
    )


def tokens_flush_expired(*, batch_size: int, limit: int | None = None) -> int:
    """Delete the refresh tokens past their expiry, blacklisted or not (their blacklist rows go
    with them), in batches, at most about `limit` when given. Returns how many were deleted."""
    return delete_in_batches(
        OutstandingToken.objects.filter(expires_at__lt=timezone.now()), batch_size=batch_size, limit=limit
    )


def tokens_blacklist(*, queryset, actor: User | None = None) -> int:
    """Blacklist the outstanding refresh tokens `queryset` selects that aren't yet: one INSERT,
    audited per token. Returns how many were newly blacklisted."""
    tokens = list(queryset.filter(blacklistedtoken__isnull=True).values_list("pk", "jti"))
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk, _ in tokens], ignore_conflicts=True
    )
    audit_bulk(
        model=OutstandingToken,
        actor=actor,
        action_name="blacklist",
        entries=[(pk, f"refresh token {jti}", {"blacklisted": ["False", "True"]}) for pk, jti in tokens],
    )
    return len(created)


def sync_conflict_apply_again(*, conflict, actor: User | None) -> str:
    """Apply a conflicting sync message again (not through the inbox: it was recorded there when
    it arrived). Applied: the conflict is resolved. Still conflicting: the conflict keeps the new
    reason and no second conflict row is left behind. Returns the outcome."""
    from users.models import ConflictingUserSyncLog, SyncedUserLink, UserSyncInbox
    from users.sync import user_sync_apply
    from users.sync_message import PoisonMessage, sync_message_decode
    from users.sync_rules import APPLIED, SyncConflict

    version = conflict.version
    if version is None:
        # recorded before conflicts kept the sender's version: apply it as the newest one
        try:
            source_id = json.loads(conflict.raw_body).get("source_id")
        except (ValueError, AttributeError):
            source_id = None
        link = SyncedUserLink.objects.filter(source=conflict.source, source_id=source_id).first()
        version = link.last_version + 1 if link else 1
    try:
        message = sync_message_decode(
            body=conflict.raw_body.encode("utf-8"),
            message_id=conflict.message_id,
            headers={"x-outbox-id": version},
            exchange=conflict.exchange,
            queue=conflict.queue,
        )
    except PoisonMessage as exc:
        undecodable = SyncConflict.undecodable(exc)
        conflict.reason, conflict.reason_code = undecodable.reason[:500], undecodable.code
        conflict.save(update_fields=["reason", "reason_code"])
        return "undecodable"
    with transaction.atomic():
        newest_before = ConflictingUserSyncLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        outcome = user_sync_apply(message=message, record_inbox=False)
        if outcome == APPLIED:
            conflict.resolved, conflict.resolved_at, conflict.resolved_by = True, timezone.now(), actor
            conflict.save(update_fields=["resolved", "resolved_at", "resolved_by"])
            UserSyncInbox.objects.filter(message_id=conflict.message_id).update(outcome=APPLIED)
            return outcome
        repeated = ConflictingUserSyncLog.objects.filter(pk__gt=newest_before, message_id=conflict.message_id)
        newest = repeated.order_by("-pk").first()
        if newest is not None:
            conflict.reason, conflict.reason_code = newest.reason, newest.reason_code
            conflict.save(update_fields=["reason", "reason_code"])
            repeated.delete()
    return outcome


def sync_conflicts_apply_waiting(*, keys) -> int:
    """Apply the updates that arrived before their user did, now that it is here.

    Several relays, retries after a broker cut and several consumers deliver a user's messages in
    any order: an update that overtakes its create is parked as an "unknown user" conflict. Once
    the create is applied, those updates are applied in version order and their conflicts
    resolved. `keys` are (source, source_id) pairs just applied or just parked: both sides look
    after their own commit, so whichever commits last finds the other. Returns how many applied."""
    from users.models import ConflictingUserSyncLog, SyncedUserLink
    from users.sync_rules import APPLIED

    by_source: dict[str, set[int]] = {}
    for source, source_id in keys:
        by_source.setdefault(source, set()).add(source_id)
    applied = 0
    for source, source_ids in by_source.items():
        waiting = list(
            ConflictingUserSyncLog.objects.filter(
                source=source,
                source_id__in=source_ids,
                resolved=False,
                reason_code=ConflictingUserSyncLog.Reason.UNKNOWN_USER,
            )
            .order_by("version", "pk")
            .values_list("pk", "source_id")
        )
        if not waiting:
            continue  # the usual case: one indexed query per batch
        present = set(
            SyncedUserLink.objects.filter(
                source=source,
                source_id__in={source_id for _, source_id in waiting},
            ).values_list("source_id", flat=True)
        )
        for pk in [pk for pk, source_id in waiting if source_id in present]:
            with transaction.atomic():
                # another consumer may be applying the same parked update: the row lock decides
                conflict = ConflictingUserSyncLog.objects.select_for_update().filter(pk=pk, resolved=False).first()
                if conflict is not None and sync_conflict_apply_again(conflict=conflict, actor=None) == APPLIED:
                    applied += 1
    return applied


def sync_conflicts_resolve(*, queryset, actor: User | None) -> int:
    """Mark the open conflicts among `queryset` resolved by `actor`: one UPDATE."""
    return queryset.filter(resolved=False).update(resolved=True, resolved_at=timezone.now(), resolved_by=actor)


# invalid rows listed in a failed import job's error text; the rest are counted
USER_IMPORT_ERRORS_SHOWN = 100
# the admin import's previewed files, a folder of the "import_export" storage (users.admin)
USER_IMPORT_PREVIEW_FOLDER = "previews"


class UserImportInvalid(Exception):
    """The file does not validate (any more): nothing is written."""


def user_import_job_create(
    *, content: bytes, file_name: str, file_format: str, total: int, created_by: User
) -> UserImportJob:
    """Store a previewed users file and queue the background task that imports it. If the job
    cannot be queued, the file (plaintext passwords) is deleted at once."""
    from users.tasks import import_users  # users.tasks calls into this module

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
