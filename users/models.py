from types import SimpleNamespace

from auditlog.models import AuditlogHistoryField
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.auth.hashers import check_password, is_password_usable
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, router, transaction
from django.db.models import F
from django.db.models.functions import Floor

from users.tokens import tokens_revoke

USER_CODE_PREFIX = "UC"
# a change of one of these may revoke the user's tokens (user_change_revokes_tokens)
TOKEN_REVOKING_FIELDS = ("password", "is_active", "is_deleted")


class UserCodeSequence(models.Model):
    """One counter row per prefix; locking it serialises concurrent user_code allocation."""

    prefix = models.CharField(max_length=8, unique=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}{self.last_value:04d}"


def user_codes_allocate(*, count: int, prefix: str = USER_CODE_PREFIX) -> list[str]:
    """Reserve the next `count` codes (UC0001, UC0002, ...). Must run inside the creating
    transaction: the counter row stays locked until it commits, so concurrent creates queue up."""
    with transaction.atomic():
        # the counter row normally exists (migration 0002); creating it is the rare path, taken
        # only after the UPDATE found nothing (e.g. after a flush), so creates never race on it
        counter = UserCodeSequence.objects.filter(prefix=prefix)
        if not counter.update(last_value=F("last_value") + count):
            UserCodeSequence.objects.get_or_create(prefix=prefix)
            counter.update(last_value=F("last_value") + count)
        # the UPDATE took the row lock; this read sees our own increment
        last = counter.values_list("last_value", flat=True).get()
    return [f"{prefix}{value:04d}" for value in range(last - count + 1, last + 1)]


def user_code_allocate(*, prefix: str = USER_CODE_PREFIX) -> str:
    return user_codes_allocate(count=1, prefix=prefix)[0]


# a person's names and profile, in the order every list of user fields (the API, the import, the
# sync payload and its digest, the update service) takes them: one place to add a field
NAME_FIELDS = ("first_name", "middle_name", "last_name")
PERSONAL_FIELDS = ("gender", "phone_no", "dob", "nationality", "address")
ACADEMIC_FIELDS = ("session", "semester", "stream", "course")


class User(AbstractUser):
    class UserType(models.TextChoices):
        ADMIN = "admin", "Admin"
        TEACHER = "teacher", "Teacher"
        STUDENT = "student", "Student"

    class Gender(models.TextChoices):
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        OTHER = "other", "Other"

    user_type = models.CharField(max_length=16, choices=UserType.choices, default=UserType.STUDENT)
    user_code = models.CharField(max_length=32, unique=True, editable=False, null=True, blank=True)
    middle_name = models.CharField(max_length=150, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    phone_no = models.CharField(max_length=32, blank=True)
    dob = models.DateField("date of birth", null=True, blank=True)
    nationality = models.CharField(max_length=64, blank=True)
    address = models.TextField(blank=True)
    class_teacher = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="students")
    session = models.CharField(max_length=32, blank=True)
    semester = models.CharField(max_length=32, blank=True)
    stream = models.CharField(max_length=64, blank=True)
    course = models.CharField(max_length=64, blank=True)
    profile_img = models.ImageField(upload_to="profile_images/", null=True, blank=True)

    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_on = models.DateTimeField(auto_now_add=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped to revoke every token issued before (access tokens included); tokens carry it as a claim.
    token_generation = models.PositiveIntegerField(default=0, editable=False)

    history = AuditlogHistoryField()

    objects = UserManager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # the API's and admin's ?user_type= filter
            models.Index(fields=["user_type"], name="user_type_idx"),
            # the class listing: session + semester + stream filters, newest course first
            models.Index(fields=["session", "semester", "stream", "-course"], name="user_class_listing_idx"),
            # birthday and age-range queries
            models.Index(fields=["dob"], name="user_dob_idx"),
            # every default listing excludes soft-deleted users
            models.Index(fields=["is_deleted"], name="user_is_deleted_idx"),
            # newest-registered ordering and date-range filters in the admin
            models.Index(fields=["registered_on"], name="user_registered_on_idx"),
        ]

    def __str__(self):
        return self.username

    @property
    def is_privileged(self) -> bool:
        """Staff, superusers and API administrators (user_type admin, every right on the users
        API): accounts that only superusers may change, so that nobody else can change one's
        e-mail and take it over with a password reset."""
        return self.is_staff or self.is_superuser or self.user_type == self.UserType.ADMIN

    # how many refresh tokens the last save blacklisted when it revoked the user's tokens (see
    # save), None when it revoked nothing: services that audit the revocation read it
    tokens_revoked_on_save = None

    def check_password(self, raw_password):
        """Django's, except for the rehash when the hasher's parameters changed (a Django upgrade, a
        hash synced from a deployment with other settings): the same password under new parameters
        is no password change, so it is stored quietly, revoking no token and sending no message."""

        def rehash(raw):
            self.set_password(raw)
            self._password = None
            type(self)._base_manager.filter(pk=self.pk).update(password=self.password)

        return check_password(raw_password, self.password, rehash)

    def save(self, *args, **kwargs):
        # one transaction for the row, its user_code, the outbox message the post_save signal
        # writes and the revocation of the user's tokens
        with transaction.atomic(using=kwargs.get("using")):
            if self._state.adding or kwargs.get("force_insert"):
                if not self.user_code:
                    self.user_code = user_code_allocate()
                super().save(*args, **kwargs)
                return
            update_fields = kwargs["update_fields"] = self._fields_to_write(kwargs.get("update_fields"))
            revoke = self._save_revokes_tokens(update_fields, using=kwargs.get("using"))
            super().save(*args, **kwargs)
            self.tokens_revoked_on_save = None
            if revoke:
                self.tokens_revoked_on_save = tokens_revoke(user_ids=[self.pk])
                self.refresh_from_db(fields=["token_generation"])

    def _fields_to_write(self, update_fields):
        """What a save of an existing row writes: the fields asked for, else every loaded field
        but token_generation. That one only moves forward through UPDATEs (users.tokens), so a
        save of a copy read before a revocation cannot bring the revoked tokens back."""
        if update_fields is not None:
            return update_fields
        deferred = self.get_deferred_fields()
        return [
            field.attname
            for field in self._meta.concrete_fields
            if not (field.primary_key or field.generated or field.attname in deferred)
            and field.attname != "token_generation"
        ]

    def _save_revokes_tokens(self, update_fields, *, using=None) -> bool:
        """Whether this save changes the password hash or deactivates the user (is_active
        True→False, or a soft delete): whatever path makes it (API, admin form, sync, shell),
        the tokens issued before must stop working."""
        written = set(update_fields)
        if not written.intersection(TOKEN_REVOKING_FIELDS):
            return False
        database = using or router.db_for_write(type(self), instance=self)
        stored = type(self)._base_manager.using(database).filter(pk=self.pk).values(*TOKEN_REVOKING_FIELDS).first()
        return stored is not None and user_change_revokes_tokens(SimpleNamespace(**stored), self, fields=written)


def user_change_revokes_tokens(before, after: User, *, fields=TOKEN_REVOKING_FIELDS) -> bool:
    """Whether going from `before` to `after` (in `fields`) must revoke the user's tokens: a new
    password hash, a deactivation or a soft delete. One unusable password for another (each is
    random) is no new password."""
    new_password = (
        "password" in fields
        and before.password != after.password
        and (is_password_usable(before.password) or is_password_usable(after.password))
    )
    deactivated = "is_active" in fields and before.is_active and not after.is_active
    deleted = "is_deleted" in fields and not before.is_deleted and after.is_deleted
    return bool(new_password or deactivated or deleted)


auditlog.register(User, exclude_fields=["password", "last_login", "token_generation"])


class ConflictingUserSyncLog(models.Model):
    """A user message from another deployment that could not be applied, kept for support."""

    class Reason(models.TextChoices):
        """The kind of conflict (users.sync_rules.SyncConflict makes each); `reason` says the rest."""

        UNKNOWN_USER = "unknown_user", "Unknown user"
        USERNAME_TAKEN = "username_taken", "Username taken"
        STALE = "stale", "Stale version"
        INVALID = "invalid", "Invalid values"
        EXISTING_DATA = "existing_data", "Conflicts with existing data"
        DIFFERENT_BODY = "different_body", "Another body under a handled message id"
        UNDECODABLE = "undecodable", "Undecodable"
        OTHER = "other", "Other"

    message_id = models.UUIDField(null=True, blank=True, db_index=True)
    message_type = models.CharField(max_length=64, blank=True)
    exchange = models.CharField(max_length=255, blank=True)
    queue = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=255, blank=True)
    # the sender's id of the user: an update parked before its user arrived is found by it
    source_id = models.BigIntegerField(null=True, blank=True)
    # the x-outbox-id header: the sender's version of the user, needed to apply the message again
    version = models.BigIntegerField(null=True, blank=True)
    raw_body = models.TextField()
    reason = models.CharField(max_length=500)
    reason_code = models.CharField("kind of conflict", max_length=32, choices=Reason.choices, default=Reason.OTHER)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "sync conflict"
        ordering = ["-id"]
        permissions = [
            ("apply_conflictingusersynclog", "Can apply a conflicting sync message again"),
            ("resolve_conflictingusersynclog", "Can mark sync conflicts resolved"),
        ]
        indexes = [
            models.Index(fields=["resolved", "-id"], name="sync_conflict_open_idx"),
            models.Index(fields=["source", "source_id", "resolved"], name="sync_conflict_user_idx"),
        ]

    def __str__(self):
        return f"{self.message_type or 'message'} {self.message_id}: {self.reason}"


class UserSyncInbox(models.Model):
    """Every user message already handled here, by message_id: a redelivery changes nothing."""

    message_id = models.UUIDField(unique=True)
    source = models.CharField(max_length=255)
    outcome = models.CharField(max_length=16)
    # sha256 of the body: the same message_id with another body is a conflict, not a redelivery
    body_sha256 = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.message_id} ({self.outcome})"


class SyncedUserLink(models.Model):
    """Which local user mirrors (source deployment, source user id), and the newest version applied."""

    source = models.CharField(max_length=255)
    source_id = models.BigIntegerField()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sync_links")
    last_version = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="synced_user_unique_source")]

    def __str__(self):
        return f"{self.source}#{self.source_id} → {self.user_id}"


class UserSyncCounter(models.Model):
    """A counter of the sync consumer's, kept in the database: /metrics reads the same total from
    any web process, and it survives the consumer's restarts."""

    name = models.CharField(max_length=64, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} = {self.value}"


class UserAPIHitLog(models.Model):
    """One request to the API: who, what, how it went and from where. Never the body, the query
    string or the Authorization header. Written by users.middleware.ApiHitLogMiddleware."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_hits"
    )
    method = models.CharField(max_length=16)
    api_name = models.CharField("path", max_length=500)
    status_code = models.PositiveSmallIntegerField()
    # 2 for 2xx, 5 for 5xx...: the admin's status filter is an equality on it, which its index
    # serves newest first; a range over status_code can't, and MariaDB then walks the table instead
    status_class = models.GeneratedField(
        expression=Floor(F("status_code") / 100),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    duration_ms = models.FloatField()
    external_ip = models.GenericIPAddressField(null=True, blank=True)
    internal_ip = models.GenericIPAddressField(null=True, blank=True)
    browser_name = models.CharField(max_length=64, blank=True)
    os_name = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    timestamp = models.DateTimeField()

    class Meta:
        verbose_name = "API hit"
        ordering = ["-id"]
        # single-column indexes serve "filter, newest first" too: InnoDB appends the primary key
        indexes = [
            # date filters, the retention purge, and /metrics' recent window read from the index alone
            models.Index(fields=["timestamp", "status_code", "duration_ms"], name="api_hit_time_idx"),
            models.Index(fields=["status_code"], name="api_hit_status_idx"),
            # the status-class filter, newest first
            models.Index(fields=["status_class", "id"], name="api_hit_status_class_idx"),
            models.Index(fields=["method"], name="api_hit_method_idx"),
            models.Index(fields=["api_name"], name="api_hit_path_idx"),
            # support looks a request up by the X-Request-ID a client reported
            models.Index(fields=["request_id"], name="api_hit_request_id_idx"),
        ]

    def __str__(self):
        return f"{self.method} {self.api_name} {self.status_code}"


def user_import_storage():
    # the uploaded file holds plaintext passwords: kept outside MEDIA_ROOT, owner-only, and
    # deleted as soon as its job ends
    from django.core.files.storage import storages

    return storages["user_imports"]


class UserImportJob(models.Model):
    """A confirmed users file, imported by a background task (users.tasks.import_users)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    file = models.FileField(upload_to="", storage=user_import_storage, blank=True)
    file_name = models.CharField("uploaded file", max_length=255)
    file_format = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # rows in the file; processed counts the rows prepared (validated, password hashed), the slow
    # part: the users are then written in one transaction, which shows only once it commits
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "user import"
        ordering = ["-id"]

    def __str__(self):
        return f"import #{self.pk} of {self.file_name} ({self.status})"


class UserResyncJob(models.Model):
    """A resync: one `user.snapshot` message per user in scope, enqueued through the outbox in
    batches by a background task (users.tasks.resync_users) or `manage.py users_resync`. The
    cursor (the last user id enqueued, committed with each batch) lets a job resume where it
    stopped after a crash or a restart."""

    class Scope(models.TextChoices):
        ALL = "all", "All users"
        SINCE = "since", "Changed since"
        IDS = "ids", "Selected users"
        RANGES = "ranges", "Id ranges"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    queue = models.CharField(max_length=255)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    since = models.DateTimeField(null=True, blank=True)
    # IDS: [id, ...]; RANGES: [[first id, last id], ...], both ends included
    ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    enqueued = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # who asked: a person (admin, command) or, for a receiver's sync.resync_requested, its name
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_for = models.CharField("requested by deployment", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "user resync"
        ordering = ["-id"]
        permissions = [("resync_users", "Can resync users to another deployment")]

    def __str__(self):
        return f"resync #{self.pk} to {self.queue} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


auditlog.register(UserResyncJob, exclude_fields=["cursor", "enqueued"])


class SyncDrift(models.Model):
    """A range of another deployment's users (by its user ids, its `source_id`s) where what this
    deployment holds differs from what that deployment's last `sync.digest` said it sends. Open
    while they differ; the first digest that matches closes it."""

    source = models.CharField(max_length=255)
    range_start = models.BigIntegerField()
    range_end = models.BigIntegerField(help_text="the last source id of the range, included")
    # where the digest came from: the queue a resync of the range is sent to, and the source's
    # own queue, where a request for that resync goes
    queue = models.CharField(max_length=255)
    reply_queue = models.CharField(max_length=255)
    source_count = models.PositiveIntegerField("users there")
    local_count = models.PositiveIntegerField("users here")
    detected_at = models.DateTimeField("drifted since", auto_now_add=True)
    last_checked_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    resync_requested_at = models.DateTimeField(null=True, blank=True)
    resync_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "sync drift"
        verbose_name_plural = "sync drift"
        ordering = ["-id"]
        permissions = [("request_resync_syncdrift", "Can ask the source deployment to resync a drifted range")]
        indexes = [
            models.Index(fields=["source", "range_start", "closed_at"], name="sync_drift_range_idx"),
            models.Index(fields=["closed_at", "source"], name="sync_drift_open_idx"),
        ]

    def __str__(self):
        return f"{self.source} users {self.range_start}–{self.range_end}"


auditlog.register(SyncDrift, include_fields=["closed_at", "resync_requested_at", "resync_requested_by"])
