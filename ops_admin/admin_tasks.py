"""background_task's tasks, read-only: failures and their errors first; Ops can run a task now."""

from background_task.models import CompletedTask, Task
from django.contrib import admin, messages
from django.utils.html import format_html

from common.admin.pagination import EstimatedCountPaginator
from common.admin.readonly import ReadOnlyAdminMixin
from scheduler.services import tasks_run_now

for model in (Task, CompletedTask):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class FailedFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("failed", "Failed"), ("erroring", "Had an error, retrying"), ("ok", "No error")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        if self.value() == "erroring":
            return queryset.filter(failed_at__isnull=True).exclude(last_error="")
        if self.value() == "ok":
            return queryset.filter(failed_at__isnull=True, last_error="")
        return queryset


class TaskAdminBase(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["task_name", "run_at", "attempts", "failed_at", "error_summary", "locked_by", "queue"]
    list_filter = [FailedFilter, "task_name", "queue", ("run_at", admin.DateFieldListFilter)]
    search_fields = ["task_name", "last_error"]
    ordering = ["-run_at"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fieldsets = (
        ("Error", {"fields": ("failed_at", "attempts", "last_error_block")}),
        (None, {"fields": ("task_name", "task_params", "verbose_name", "queue", "priority")}),
        ("Timing", {"fields": ("run_at", "repeat", "repeat_until", "locked_by", "locked_at")}),
    )
    readonly_fields = [
        "failed_at",
        "attempts",
        "last_error_block",
        "task_name",
        "task_params",
        "verbose_name",
        "queue",
        "priority",
        "run_at",
        "repeat",
        "repeat_until",
        "locked_by",
        "locked_at",
    ]

    @admin.display(description="last error")
    def error_summary(self, obj):
        if not obj.last_error:
            return ""
        last_line = obj.last_error.strip().splitlines()[-1]
        return format_html('<span class="text-danger font-weight-bold">{}</span>', last_line[:120])

    @admin.display(description="last error")
    def last_error_block(self, obj):
        return format_html('<pre class="text-danger">{}</pre>', obj.last_error or "—")


@admin.register(Task)
class TaskAdmin(TaskAdminBase):
    actions = ["run_now"]

    def has_run_scheduled_tasks_permission(self, request):
        return request.user.has_perm("ops_admin.run_scheduled_tasks")

    @admin.action(description="Run selected tasks now", permissions=["run_scheduled_tasks"])
    def run_now(self, request, queryset):
        changed = tasks_run_now(queryset=queryset)
        self.message_user(request, f"{changed} task(s) due now.", messages.SUCCESS)


@admin.register(CompletedTask)
class CompletedTaskAdmin(TaskAdminBase):
    pass
