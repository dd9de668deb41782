"""django-auditlog's entries: read-only for everyone, filtered by actor, model, action and date."""

from auditlog.admin import LogEntryAdmin as AuditlogLogEntryAdmin
from auditlog.filters import ResourceTypeFilter
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model

from common.admin.pagination import EstimatedCountPaginator

if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


class ActorFilter(admin.SimpleListFilter):
    """Staff who changed something: the people an auditor asks about (not every user)."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")
        return [(user.pk, user.username) for user in staff[:200]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(actor_id=self.value())
        return queryset


@admin.register(LogEntry)
class LogEntryAdmin(AuditlogLogEntryAdmin):
    list_filter = ["action", ResourceTypeFilter, ActorFilter, ("timestamp", admin.DateFieldListFilter)]
    # no search over the JSON changes or the timestamp text: both scan the table
    search_fields = ["object_repr", "=object_pk", "actor__username"]
    search_help_text = "Object name, exact object id, or actor username."
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # read-only as auditlog's own admin makes it (no add, no change, no delete from its pages)
    actions = None
