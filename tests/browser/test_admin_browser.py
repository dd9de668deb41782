"""The operations admin in a real browser: the dashboard and its chart, Retry on an outbox row,
and an auditor who is offered nothing that changes anything."""

import pytest
from django.contrib.auth.models import Group, Permission
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from pubsub.conf import user_sync_routes
from pubsub.models import QueuePublishHistory
from pubsub.outbox import queue_msg_to_publish
from users.models import UserAPIHitLog
from users.tests.factories import DEFAULT_PASSWORD, StaffUserFactory, SuperuserFactory

Status = QueuePublishHistory.Status
CHART_JS = "/static/ops_admin/vendor/chartjs/chart.umd.min.js"
OUTBOX = "/admin/pubsub/queuepublishhistory/"

pytestmark = pytest.mark.django_db(transaction=True)


def wait(browser, condition, timeout=30):
    return WebDriverWait(browser, timeout).until(condition)


def log_in(browser, live_server, user):
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait(browser, ec.url_to_be(f"{live_server.url}/admin/"))


def auditor():
    """A member of the Auditor group (the roles migration's); a user holding only the view
    permissions where that group does not exist."""
    user = StaffUserFactory()
    try:
        from django.apps import apps

        from ops_admin.roles import AUDITOR, roles_apply
    except ImportError:
        user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
        return user
    roles_apply(apps=apps)  # a transactional test before this one may have flushed the groups
    user.groups.add(Group.objects.get(name=AUDITOR))
    return user


def error_row():
    row = queue_msg_to_publish(route=user_sync_routes()[0], body={"n": 1}, message_type="test.message")
    QueuePublishHistory.objects.filter(pk=row.pk).update(
        status=Status.ERROR, attempts=10, next_attempt_at=None, error_msg="connection refused"
    )
    return row


def test_superuser_sees_the_dashboard_chart_drawn_by_the_vendored_library(browser, live_server, screenshot):
    from django.utils import timezone

    UserAPIHitLog.objects.create(
        method="GET", api_name="/api/users/me/", status_code=200, duration_ms=3.0, timestamp=timezone.now()
    )
    log_in(browser, live_server, SuperuserFactory())

    wait(browser, ec.presence_of_element_located((By.ID, "api-hits-chart")))
    chart_sources = [s.get_attribute("src") for s in browser.find_elements(By.CSS_SELECTOR, "script[src*='chart']")]
    drawn = browser.execute_script("return typeof Chart !== 'undefined' && !!window.opsApiHitsChart")
    screenshot(browser, "dashboard")

    assert chart_sources == [f"{live_server.url}{CHART_JS}"]
    assert drawn is True
    assert browser.find_element(By.ID, "outbox-panel").is_displayed()
    assert browser.find_element(By.ID, "publish_due_now").is_displayed()


def test_retry_in_the_outbox_makes_an_error_row_pending(browser, live_server, screenshot):
    row = error_row()
    log_in(browser, live_server, SuperuserFactory())

    browser.get(f"{live_server.url}{OUTBOX}?status__exact=error")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{row.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("retry_messages")
    screenshot(browser, "outbox-error-selected")
    browser.find_element(By.CSS_SELECTOR, "button[name=index], button[type=submit].btn[title]").click()
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "body"), "set to pending"))
    browser.get(f"{live_server.url}{OUTBOX}?status__exact=pending")
    screenshot(browser, "outbox-after-retry")

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{row.pk}']")


def test_auditor_is_offered_nothing_that_changes_anything(browser, live_server, screenshot):
    error_row()
    log_in(browser, live_server, auditor())

    screenshot(browser, "auditor-dashboard")
    dashboard_buttons = browser.find_elements(By.CSS_SELECTOR, "#worker-buttons button")
    browser.get(f"{live_server.url}{OUTBOX}")
    screenshot(browser, "auditor-outbox")

    assert "outbox message" in browser.page_source
    assert dashboard_buttons == []
    assert browser.find_elements(By.ID, "publish-now") == []
    action_choices = [
        option.get_attribute("value")
        for option in browser.find_elements(By.CSS_SELECTOR, "select[name=action] option")
        if option.get_attribute("value")
    ]
    assert action_choices == []
