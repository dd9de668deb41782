"""The outbox admin never shows nor exports a password hash, to any role, while the stored body
(what is published) keeps it."""

import csv
import io
import json

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse

from ops_admin.roles import AUDITOR
from pubsub.admin import QueuePublishHistoryResource
from pubsub.models import QueuePublishHistory
from pubsub.services import outbox_retry
from tests.support.admin_people import SUPERUSER, admin_user_of_kind
from users.sync_payload import USER_CREATED
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:pubsub_queuepublishhistory_export")


@pytest.fixture(params=[AUDITOR, SUPERUSER])
def viewer(request, client):
    client.user = admin_user_of_kind(request.param)
    client.force_login(client.user)
    return client


@pytest.fixture
def user_row():
    """A user.created outbox row, as saving a user writes it: with the user's password hash."""
    user = UserFactory()
    row = QueuePublishHistory.objects.filter(message_type=USER_CREATED).latest("id")
    assert row.message_body_json["user"]["password"] == user.password
    return row


def hashes_in(text: str) -> list[str]:
    """Every user's password hash found in `text`, the viewer's own (a superuser's) included."""
    from users.models import User

    return [password for password in User.objects.values_list("password", flat=True) if password in text]


def assert_stored_body_keeps_the_hash(row):
    from users.models import User

    row.refresh_from_db()
    assert (
        row.message_body_json["user"]["password"]
        == User.objects.get(username=row.message_body_json["user"]["username"]).password
    )


def export(client, extension: str) -> str:
    """The outbox exported as `extension` with every column, as text."""
    formats = admin.site._registry[QueuePublishHistory].get_export_formats()
    index = next(i for i, file_format in enumerate(formats) if file_format().get_extension() == extension)
    columns = {f"queuepublishhistoryresource_{name}": "on" for name in QueuePublishHistoryResource().get_export_order()}
    response = client.post(EXPORT, {"format": str(index), "resource": "0", **columns})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if extension == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    return content.decode()


def test_outbox_change_page_hides_the_password_hash(viewer, user_row):
    content = viewer.get(reverse("admin:pubsub_queuepublishhistory_change", args=[user_row.pk])).content.decode()

    assert hashes_in(content) == []
    assert "&quot;password&quot;: &quot;&lt;hash hidden&gt;&quot;" in content
    assert_stored_body_keeps_the_hash(user_row)


def test_outbox_change_page_hides_the_hash_of_the_superuser_viewing_it(client):
    superuser = admin_user_of_kind(SUPERUSER)
    own_row = QueuePublishHistory.objects.filter(message_body_json__user__username=superuser.username).latest("id")
    client.force_login(superuser)

    content = client.get(reverse("admin:pubsub_queuepublishhistory_change", args=[own_row.pk])).content.decode()

    assert superuser.password not in content


def test_outbox_changelist_shows_no_password_hash(viewer, user_row):
    content = viewer.get(reverse("admin:pubsub_queuepublishhistory_changelist")).content.decode()

    assert str(user_row.pk) in content
    assert hashes_in(content) == []


def test_outbox_history_page_shows_no_password_hash(viewer, user_row):
    QueuePublishHistory.objects.filter(pk=user_row.pk).update(status=QueuePublishHistory.Status.ERROR)
    outbox_retry(queryset=QueuePublishHistory.objects.filter(pk=user_row.pk), actor=viewer.user)

    content = viewer.get(reverse("admin:pubsub_queuepublishhistory_auditlog", args=[user_row.pk])).content.decode()

    assert "<td>error</td>" in content
    assert hashes_in(content) == []


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_outbox_export_hides_the_password_hash(viewer, user_row, extension):
    exported = export(viewer, extension)

    assert str(user_row.message_id) in exported
    assert hashes_in(exported) == []
    assert "<hash hidden>" in exported
    assert_stored_body_keeps_the_hash(user_row)


def test_exported_body_is_the_stored_json_less_the_hash(viewer, user_row):
    rows = list(csv.DictReader(io.StringIO(export(viewer, "csv"))))

    exported = next(row for row in rows if row["message_id"] == str(user_row.message_id))
    body = json.loads(exported["message_body_json"])
    assert body["user"]["password"] == "<hash hidden>"
    assert {k: v for k, v in body["user"].items() if k != "password"} == {
        k: v for k, v in user_row.message_body_json["user"].items() if k != "password"
    }
