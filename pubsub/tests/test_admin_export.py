"""The outbox export: safe to open in a spreadsheet."""

import csv
import io

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse

from ops_admin.roles import AUDITOR
from pubsub.admin import QueuePublishHistoryResource
from pubsub.models import QueuePublishHistory
from tests.support.admin_people import admin_user_of_kind

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:pubsub_queuepublishhistory_export")
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def auditor(client):
    client.force_login(admin_user_of_kind(AUDITOR))
    return client


def export(client, extension: str, query: str = ""):
    """The outbox exported as `extension` with every column: the response and its rows (header first)."""
    formats = admin.site._registry[QueuePublishHistory].get_export_formats()
    index = next(i for i, file_format in enumerate(formats) if file_format().get_extension() == extension)
    columns = {f"queuepublishhistoryresource_{name}": "on" for name in QueuePublishHistoryResource().get_export_order()}
    response = client.post(EXPORT + query, {"format": str(index), "resource": "0", **columns})
    if response.get("Content-Disposition", "").startswith("attachment") is False:
        return response, []
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if extension == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
        return response, [[cell.value for cell in row] for row in sheet.iter_rows()]
    return response, list(csv.reader(io.StringIO(content.decode(), newline="")))


def column(rows, name):
    header, *data = rows
    return [row[header.index(name)] for row in data]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_an_error_text_starting_like_a_formula_is_exported_as_text(make_row, auditor, extension):
    make_row(error_msg=FORMULA, status=QueuePublishHistory.Status.ERROR)

    _, rows = export(auditor, extension)

    assert [error for error in column(rows, "error_msg") if error] == ["'" + FORMULA]
