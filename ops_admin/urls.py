"""The worker buttons, under /admin/ops/ (mounted before the admin's own URLs)."""

from django.contrib import admin
from django.urls import path

from ops_admin import views

app_name = "ops_admin"

urlpatterns = [
    path("publish-due-now/", admin.site.admin_view(views.publish_due_now), name="publish_due_now"),
    path("drain-deadletters-now/", admin.site.admin_view(views.drain_deadletters_now), name="drain_deadletters_now"),
    path(
        "run-scheduled-tasks-now/",
        admin.site.admin_view(views.run_scheduled_tasks_now),
        name="run_scheduled_tasks_now",
    ),
    path("flush-tokens-now/", admin.site.admin_view(views.flush_tokens_now), name="flush_tokens_now"),
    path("purge-api-hits-now/", admin.site.admin_view(views.purge_api_hits_now), name="purge_api_hits_now"),
    path(
        "publish-sync-digests-now/",
        admin.site.admin_view(views.publish_sync_digests_now),
        name="publish_sync_digests_now",
    ),
    path("resync-all-users/", admin.site.admin_view(views.resync_all_users), name="resync_all_users"),
]
