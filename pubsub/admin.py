import json

from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from import_export import fields, resources, widgets

from common.admin.export import SafeExportMixin
from common.admin.pagination import EstimatedCountPaginator
from common.admin.readonly import ReadOnlyAdminMixin
from common.admin.redaction import message_body_redact
from pubsub import services
from pubsub.broker import BrokerUnavailable
from pubsub.models import QueuePublishHistory, WorkerHeartbeat

STATUS_BADGES = {
    QueuePublishHistory.Status.PENDING: "info",
    QueuePublishHistory.Status.PUBLISHED: "success",
    QueuePublishHistory.Status.ERROR: "danger",
    QueuePublishHistory.Status.EXPIRED: "warning",
}


class RedactedJSONWidget(widgets.JSONWidget):
    """The body as import-export writes JSON, less the password hashes."""

    def render(self, value, obj=None, **kwargs):
        return super().render(message_body_redact(body=value), obj, **kwargs)


class QueuePublishHistoryResource(resources.ModelResource):
    message_body_json = fields.Field(
        attribute="message_body_json", column_name="message_body_json", widget=RedactedJSONWidget()
    )

    class Meta:
        model = QueuePublishHistory
        fields = (
            "id",
            "message_id",
            "message_type",
            "queue_name",
            "exchange_name",
            "status",
            "attempts",
            "error_msg",
            "expired_reason",
            "timestamp",
            "next_attempt_at",
            "published_at",
            "updated_at",
            "message_body_json",
        )
        export_order = fields


class QueueNameFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue_name"

    def lookups(self, request, model_admin):
        # DISTINCT over the (queue_name, status) index, not over the table
        names = QueuePublishHistory.objects.order_by("queue_name").values_list("queue_name", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(queue_name=self.value())
        return queryset


class StatusFilter(admin.ChoicesFieldListFilter):
    """The status filter as a closed range on status, read newest first (with the admin's
    get_ordering) off outbox_status_idx (status, id).

    An equality would do the same in theory, but MariaDB treats an equality-bound column as a
    constant and drops it from the ORDER BY; `ORDER BY id DESC LIMIT n` can then be served by
    walking PRIMARY backwards, and MariaDB picks that whenever its ref access landed on another
    index starting with status (their estimates tie). When every row of the status is old (a past
    incident), that walk reads the whole table: 1.5 s at 1M rows, against 0.1 ms off the index."""

    def queryset(self, request, queryset):
        statuses = self.used_parameters.get(self.lookup_kwarg)
        if statuses and len(statuses) == 1 and len(self.used_parameters) == 1:
            return queryset.filter(status__gte=statuses[0], status__lte=statuses[0])
        return super().queryset(request, queryset)


def publish_due_now_outcome() -> tuple[int, str]:
    """One relay pass now, as the outbox list's button and the dashboard's both run it: the
    message level and text to show."""
    try:
        published, failed = services.outbox_publish_due_now()
    except BrokerUnavailable as exc:
        return messages.ERROR, f"RabbitMQ is unreachable, nothing was published: {exc}"
    return (messages.WARNING if failed else messages.SUCCESS), f"Published {published} due message(s); {failed} failed."


@admin.register(QueuePublishHistory)
class QueuePublishHistoryAdmin(ReadOnlyAdminMixin, AuditlogHistoryAdminMixin, SafeExportMixin, admin.ModelAdmin):
    resource_classes = [QueuePublishHistoryResource]
    # import-export wraps change_list_template in its own; this one extends the export list itself
    import_export_change_list_template = "admin/pubsub/queuepublishhistory/change_list.html"
    list_display = [
        "id",
        "message_type",
        "queue_name",
        "status_badge",
        "attempts",
        "timestamp",
        "next_attempt_at",
        "published_at",
        "short_error",
    ]
    list_display_links = ["id", "message_type"]
    list_filter = [
        ("status", StatusFilter),
        QueueNameFilter,
        ("timestamp", admin.DateFieldListFilter),
        "expired_reason",
    ]
    search_fields = ["=message_id", "=queue_name", "error_msg"]
    search_help_text = "Exact message id or queue name, or words from the error."
    ordering = ["-id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    show_auditlog_history_link = True
    actions = ["retry_messages", "expire_messages"]
    fieldsets = (
        (None, {"fields": ("message_id", "message_type", "status", "attempts", "error_msg", "expired_reason")}),
        ("Route", {"fields": ("exchange_name", "queue_name", "deadletter_exchange_name", "deadletter_queue_name")}),
        ("Payload", {"fields": ("payload", "delivery_mode", "expiration_secs")}),
        (
            "Timing",
            {"fields": ("timestamp", "next_attempt_at", "published_at", "updated_at", "claimed_by", "claimed_until")},
        ),
    )

    def get_ordering(self, request):
        if request.GET.get("status__exact"):
            # the order of outbox_status_idx, which only that index delivers (see StatusFilter)
            return ["-status", "-id"]
        return super().get_ordering(request)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "message_body_json"] + ["payload"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="badge bg-{}">{}</span>', STATUS_BADGES.get(obj.status, "secondary"), obj.status
        )

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error_msg[:80] + "…") if len(obj.error_msg) > 80 else obj.error_msg

    @admin.display(description="payload")
    def payload(self, obj):
        body = message_body_redact(body=obj.message_body_json)
        return format_html("<pre>{}</pre>", json.dumps(body, indent=2, ensure_ascii=False))

    # -- actions -------------------------------------------------------------------------------
    def has_retry_permission(self, request):
        return request.user.has_perm("pubsub.retry_queuepublishhistory")

    def has_expire_permission(self, request):
        return request.user.has_perm("pubsub.expire_queuepublishhistory")

    def has_publish_permission(self, request):
        return request.user.has_perm("pubsub.publish_queuepublishhistory")

    @admin.action(description="Retry selected messages (pending, due now)", permissions=["retry"])
    def retry_messages(self, request, queryset):
        changed = services.outbox_retry(queryset=queryset, actor=request.user)
        self.message_user(request, f"{changed} message(s) set to pending and due now.", messages.SUCCESS)

    @admin.action(description="Expire selected messages (never retried)", permissions=["expire"])
    def expire_messages(self, request, queryset):
        changed = services.outbox_expire(queryset=queryset, actor=request.user)
        self.message_user(request, f"{changed} message(s) expired.", messages.SUCCESS)

    # -- the "publish due messages now" button ------------------------------------------------
    def get_urls(self):
        return [
            path(
                "publish-now/",
                self.admin_site.admin_view(self.publish_now_view),
                name="pubsub_queuepublishhistory_publish_now",
            ),
            *super().get_urls(),
        ]

    def publish_now_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_publish_permission(request):
            raise PermissionDenied
        level, text = publish_due_now_outcome()
        self.message_user(request, text, level)
        return HttpResponseRedirect(reverse("admin:pubsub_queuepublishhistory_changelist"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_publish_now": self.has_publish_permission(request)}
        return super().changelist_view(request, extra_context)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "host", "pid", "state", "last_seen", "started_at", "processed", "failed"]
    list_filter = ["name", "state"]
    ordering = ["name", "-last_seen"]
    # a retired daemon's rows would report it down for ever: superusers remove them
    deletable = True
