import json

from auditlog.mixins import AuditlogHistoryAdminMixin
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from import_export import resources
from import_export.admin import ImportMixin

from common.admin.export import SafeExportMixin
from common.admin.pagination import EstimatedCountPaginator
from common.admin.readonly import ReadOnlyAdminMixin
from common.admin.redaction import message_body_redact
from users.models import ConflictingUserSyncLog, SyncDrift, User, UserAPIHitLog, UserImportJob, UserResyncJob
from users.resources import IMPORT_FORMATS, user_import_resource_class_for
from users.services.conflicts import sync_conflict_apply_again, sync_conflicts_resolve
from users.services.drift import sync_drift_request_resync
from users.services.import_jobs import user_import_job_create
from users.services.imports import USER_IMPORT_PREVIEW_FOLDER
from users.services.resync_jobs import user_resync_job_cancel, user_resync_job_create, user_resync_job_resume
from users.services.tokens import tokens_revoke_for_user

PRIVILEGE_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]
# users one "Resync selected users" may name; more is a job for the dashboard's "Resync all users"
MAX_RESYNC_IDS = 10_000


@admin.register(User)
class UserAdmin(AuditlogHistoryAdminMixin, ImportMixin, DjangoUserAdmin):
    list_display = ["username", "user_code", "email", "first_name", "last_name", "user_type", "is_active", "is_deleted"]
    list_filter = ["user_type", "is_active", "is_staff", "is_deleted", "registered_on"]
    search_fields = ["username", "user_code", "email", "first_name", "last_name"]
    ordering = ["-registered_on"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_auditlog_history_link = True
    # auditlog records every created user; one admin LogEntry per imported row is not needed
    skip_admin_log = True
    actions = ["revoke_tokens", "resync_selected"]
    readonly_fields = [
        "user_code",
        "registered_on",
        "registered_by",
        "updated_at",
        "updated_by",
        "deleted_at",
        "deleted_by",
        "last_login",
        "date_joined",
    ]
    raw_id_fields = ["class_teacher"]
    fieldsets = (
        (None, {"fields": ("username", "password", "user_code", "user_type")}),
        (
            "Personal",
            {
                "fields": (
                    "first_name",
                    "middle_name",
                    "last_name",
                    "email",
                    "gender",
                    "dob",
                    "phone_no",
                    "nationality",
                    "address",
                    "profile_img",
                )
            },
        ),
        ("Academic", {"fields": ("class_teacher", "session", "semester", "stream", "course")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (
            "Record",
            {
                "fields": (
                    "is_deleted",
                    "deleted_at",
                    "deleted_by",
                    "registered_on",
                    "registered_by",
                    "updated_at",
                    "updated_by",
                    "last_login",
                    "date_joined",
                )
            },
        ),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "user_type", "email", "password1", "password2")}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # only superusers manage privileges
            readonly += PRIVILEGE_FIELDS
        return readonly

    def has_change_permission(self, request, obj=None):
        # a privileged account (staff, superuser, API administrator: its password, its e-mail)
        # is managed by superusers only, so nobody else can take it over
        if obj is not None and obj.is_privileged and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_privileged and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "user_type" and not request.user.is_superuser:
            # an API administrator has every right on the users API: superusers make them
            kwargs["choices"] = [choice for choice in db_field.choices if choice[0] != User.UserType.ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registered_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    # -- import ---------------------------------------------------------------------------------
    import_formats = IMPORT_FORMATS
    import_template_name = "admin/users/user/import.html"

    def get_import_resource_classes(self, request):
        return [user_import_resource_class_for(request.user)]

    def has_import_permission(self, request):
        return request.user.has_perm("users.add_user")

    def get_tmp_storage_class_kwargs(self):
        # IMPORT_EXPORT_TMP_STORAGE_CLASS (MediaStorage): a folder beside the job files
        return {"MEDIA_FOLDER": USER_IMPORT_PREVIEW_FOLDER}

    def import_action(self, request, **kwargs):
        """The preview. django-import-export keeps the uploaded file for the confirm step even
        when it offers none (rows in error, an unreadable file, an error): it holds plaintext
        passwords, so it is deleted then and there."""
        response = None
        try:
            response = super().import_action(request, **kwargs)
        finally:
            name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
            context = getattr(response, "context_data", None) or {}
            if name and not context.get("confirm_form"):
                self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs()).remove()
        return response

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Confirm: queue the previewed file as a background import job, then show that job."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return super().process_import(request, **kwargs)
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](encoding=self.from_encoding)
        tmp_storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        try:
            data = tmp_storage.read()
        except FileNotFoundError:
            self.message_user(
                request,
                "The previewed file is no longer there (a preview is kept for "
                f"{settings.USER_IMPORT_FILE_MAX_AGE_SECS // 60} minutes): nothing was imported. Upload it again.",
                messages.ERROR,
            )
            return redirect(reverse("admin:users_user_import"))
        tmp_storage.remove()
        job = user_import_job_create(
            content=data if isinstance(data, bytes) else data.encode("utf-8"),
            file_name=confirm_form.cleaned_data["original_file_name"],
            file_format=input_format.get_extension(),
            total=len(input_format.create_dataset(data)),
            created_by=request.user,
        )
        self.message_user(
            request,
            f"Import of {job.file_name} queued ({job.total} rows): its progress shows below. "
            f"Users are written all at once when every row is ready, or none if one fails.",
            messages.SUCCESS,
        )
        return redirect(reverse("admin:users_userimportjob_change", args=[job.pk]))

    # -- actions --------------------------------------------------------------------------------
    def has_manage_tokens_permission(self, request):
        return request.user.has_perm("ops_admin.manage_tokens")

    @admin.action(description="Revoke all tokens of the selected users", permissions=["manage_tokens"])
    def revoke_tokens(self, request, queryset):
        users = list(queryset)
        blacklisted = sum(tokens_revoke_for_user(user=user, actor=request.user) for user in users)
        self.message_user(
            request,
            f"Revoked every token of {len(users)} user(s): {blacklisted} refresh token(s) blacklisted, "
            f"their access tokens rejected from now on.",
            messages.SUCCESS,
        )

    def has_resync_permission(self, request):
        return request.user.has_perm("users.resync_users")

    @admin.action(description="Resync selected users", permissions=["resync"])
    def resync_selected(self, request, queryset):
        # to every queue a live change of theirs goes to: a resync repeats what the live messages said
        ids = list(queryset.values_list("pk", flat=True)[: MAX_RESYNC_IDS + 1])
        if len(ids) > MAX_RESYNC_IDS:
            self.message_user(
                request,
                f"At most {MAX_RESYNC_IDS} users at once: resync all users from the dashboard instead.",
                messages.ERROR,
            )
            return None
        jobs = [
            user_resync_job_create(queue=queue, scope=UserResyncJob.Scope.IDS, ids=ids, requested_by=request.user)
            for queue in settings.USER_SYNC_QUEUES
        ]
        links = format_html_join(
            ", ", '<a href="{}">#{} to {}</a>', ((_resync_job_url(job), job.pk, job.queue) for job in jobs)
        )
        self.message_user(request, format_html("Resync of {} user(s) queued: {}", len(ids), links), messages.SUCCESS)
        return None


def _resync_job_url(job: UserResyncJob) -> str:
    return reverse("admin:users_userresyncjob_change", args=[job.pk])


@admin.register(UserResyncJob)
class UserResyncJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: resyncs are started from the user list, the dashboard, a receiver's request or
    `manage.py users_resync`; Ops cancel or resume them here."""

    change_form_template = "admin/users/userresyncjob/change_form.html"
    list_display = ["id", "queue", "scope", "status", "progress", "requested", "created_at", "finished_at"]
    list_filter = ["status", "scope", "queue"]
    list_select_related = ["requested_by"]
    ordering = ["-id"]
    actions = ["cancel_jobs", "resume_jobs"]
    fields = [
        "queue",
        "scope",
        "scope_detail",
        "status",
        "progress",
        "cursor",
        "cancel_requested",
        "error_text",
        "requested",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description="progress")
    def progress(self, obj):
        percent = 100 * obj.enqueued // obj.total if obj.total else 100
        return f"{obj.enqueued} of {obj.total} snapshots in the outbox ({percent}%)"

    @admin.display(description="requested by")
    def requested(self, obj):
        if obj.requested_for:
            return f"deployment {obj.requested_for}"
        return obj.requested_by or "-"

    @admin.display(description="users")
    def scope_detail(self, obj):
        if obj.scope == UserResyncJob.Scope.SINCE:
            return f"changed since {obj.since:%Y-%m-%d %H:%M}"
        if obj.scope == UserResyncJob.Scope.IDS:
            shown = ", ".join(map(str, obj.ids[:20]))
            return f"ids {shown}{' …' if len(obj.ids) > 20 else ''}"
        if obj.scope == UserResyncJob.Scope.RANGES:
            return ", ".join(f"{first}–{last}" for first, last in obj.ids[:20])
        return "all users"

    @admin.display(description="error")
    def error_text(self, obj):
        return format_html("<pre>{}</pre>", obj.error) if obj.error else "-"

    def has_resync_permission(self, request):
        return request.user.has_perm("users.resync_users")

    @admin.action(description="Cancel the selected resyncs", permissions=["resync"])
    def cancel_jobs(self, request, queryset):
        cancelled = sum(user_resync_job_cancel(job=job) for job in queryset)
        self.message_user(request, f"{cancelled} resync(s) asked to stop after their current batch.", messages.SUCCESS)

    @admin.action(description="Resume the selected failed or interrupted resyncs", permissions=["resync"])
    def resume_jobs(self, request, queryset):
        resumed = sum(user_resync_job_resume(job=job) for job in queryset)
        self.message_user(request, f"{resumed} resync(s) queued again, each from where it stopped.", messages.SUCCESS)


@admin.register(UserImportJob)
class UserImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: import jobs are created by the user import's confirm step."""

    # reloads itself while the job is queued or running
    change_form_template = "admin/users/userimportjob/change_form.html"
    list_display = ["id", "file_name", "status", "progress", "created_by", "created_at", "finished_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["created_by"]
    ordering = ["-id"]
    fields = [
        "file_name",
        "status",
        "progress",
        "total",
        "processed",
        "error_text",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description="progress")
    def progress(self, obj):
        if obj.status == UserImportJob.Status.RUNNING and obj.total and obj.processed >= obj.total:
            return f"writing {obj.total} users in one transaction"
        if obj.status == UserImportJob.Status.RUNNING:
            return f"preparing (passwords hashed): {obj.processed} of {obj.total}"
        if obj.status == UserImportJob.Status.DONE:
            return f"{obj.processed} users imported"
        return obj.get_status_display()

    @admin.display(description="error")
    def error_text(self, obj):
        return format_html("<pre>{}</pre>", obj.error) if obj.error else "-"

    def has_view_permission(self, request, obj=None):
        # whoever may import sees the import jobs
        return super().has_view_permission(request, obj) or request.user.has_perm("users.add_user")


class DriftOpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "closed_at__isnull"

    def lookups(self, request, model_admin):
        return [("True", "Open"), ("False", "Closed")]

    def queryset(self, request, queryset):
        if self.value() in ("True", "False"):
            return queryset.filter(closed_at__isnull=self.value() == "True")
        return queryset


@admin.register(SyncDrift)
class SyncDriftAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Ranges of another deployment's users that differ here ("Sync drift"): recorded and closed by
    user_sync_consumer from the source's digests; Support and Ops ask the source for a resync."""

    list_display = [
        "source",
        "id_range",
        "source_count",
        "local_count",
        "detected_at",
        "state",
        "resync_requested_at",
        "last_checked_at",
    ]
    list_filter = [DriftOpenFilter, "source"]
    list_select_related = ["resync_requested_by"]
    ordering = ["-id"]
    actions = ["request_resync"]
    fields = [
        "source",
        "id_range",
        "source_count",
        "local_count",
        "detected_at",
        "last_checked_at",
        "closed_at",
        "queue",
        "reply_queue",
        "resync_requested_at",
        "resync_requested_by",
    ]
    readonly_fields = fields

    @admin.display(description="source user ids")
    def id_range(self, obj):
        return f"{obj.range_start}–{obj.range_end}"

    @admin.display(description="state")
    def state(self, obj):
        return "open" if obj.closed_at is None else f"closed {obj.closed_at:%Y-%m-%d %H:%M}"

    def has_request_resync_permission(self, request):
        return request.user.has_perm("users.request_resync_syncdrift")

    @admin.action(description="Request resync", permissions=["request_resync"])
    def request_resync(self, request, queryset):
        asked = sync_drift_request_resync(drifts=list(queryset), requested_by=request.user)
        if not asked:
            self.message_user(request, "No open drift selected: nothing requested.", messages.WARNING)
            return
        self.message_user(
            request,
            f"Asked the source deployment(s) to resync {asked} range(s); each row closes by itself once "
            f"the next digest matches.",
            messages.SUCCESS,
        )


@admin.register(ConflictingUserSyncLog)
class ConflictingUserSyncLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "message_type", "source", "reason", "resolved", "resolved_by"]
    list_display_links = ["id", "created_at"]
    list_filter = ["resolved", "reason_code", ("created_at", admin.DateFieldListFilter), "message_type"]
    list_select_related = ["resolved_by"]
    search_fields = ["=message_id", "reason", "source"]
    search_help_text = "Exact message id, or words from the reason or the source."
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ["apply_again", "mark_resolved"]
    fields = [
        "message_id",
        "message_type",
        "source",
        "version",
        "exchange",
        "queue",
        "reason_code",
        "reason",
        "created_at",
        "resolved",
        "resolved_at",
        "resolved_by",
        "body",
    ]
    readonly_fields = fields

    @admin.display(description="raw body")
    def body(self, obj):
        shown = message_body_redact(body=obj.raw_body)
        try:
            pretty = json.dumps(json.loads(shown), indent=2, ensure_ascii=False, sort_keys=True)
        except (ValueError, RecursionError):
            pretty = shown
        return format_html("<pre>{}</pre>", pretty)

    def has_apply_permission(self, request):
        return request.user.has_perm("users.apply_conflictingusersynclog")

    def has_resolve_permission(self, request):
        return request.user.has_perm("users.resolve_conflictingusersynclog")

    @admin.action(description="Apply selected messages again", permissions=["apply"])
    def apply_again(self, request, queryset):
        outcomes: dict[str, int] = {}
        for conflict in queryset.filter(resolved=False):
            outcome = sync_conflict_apply_again(conflict=conflict, actor=request.user)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing open"
        level = messages.SUCCESS if set(outcomes) <= {"applied"} else messages.WARNING
        self.message_user(request, f"Applied again: {summary}.", level)

    @admin.action(description="Mark selected conflicts resolved", permissions=["resolve"])
    def mark_resolved(self, request, queryset):
        changed = sync_conflicts_resolve(queryset=queryset, actor=request.user)
        self.message_user(request, f"{changed} conflict(s) marked resolved.", messages.SUCCESS)


class StatusClassFilter(admin.SimpleListFilter):
    title = "status class"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [(str(n), f"{n}xx") for n in (2, 3, 4, 5)]

    def queryset(self, request, queryset):
        if self.value() in {"2", "3", "4", "5"}:
            # an equality on the (status_class, id) index, which serves the newest-first page
            # even when every hit of the class is far back in the table
            return queryset.filter(status_class=int(self.value()))
        return queryset


class UserAPIHitLogResource(resources.ModelResource):
    class Meta:
        model = UserAPIHitLog
        fields = (
            "id",
            "timestamp",
            "method",
            "api_name",
            "status_code",
            "duration_ms",
            "user__username",
            "external_ip",
            "internal_ip",
            "browser_name",
            "os_name",
            "device",
            "request_id",
        )
        export_order = fields


@admin.register(UserAPIHitLog)
class UserAPIHitLogAdmin(ReadOnlyAdminMixin, SafeExportMixin, admin.ModelAdmin):
    """Read-only: hits are evidence (auditors read them, nobody edits them)."""

    resource_classes = [UserAPIHitLogResource]
    list_display = [
        "timestamp",
        "method",
        "api_name",
        "status_code",
        "duration_ms",
        "user",
        "external_ip",
        "request_id",
    ]
    list_filter = [StatusClassFilter, "method", ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["api_name", "request_id", "user__username", "external_ip"]
    search_help_text = "Path, request id, username or client address."
    list_select_related = ["user"]
    ordering = ["-id"]
    # the table is large: no COUNT(*) over all of it on every page
    paginator = EstimatedCountPaginator
    show_full_result_count = False
