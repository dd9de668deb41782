"""Exported API hits are safe to open in a spreadsheet (what a client sent, its User-Agent or the
path, never becomes a formula, in CSV or XLSX), and cheap to serve from a large table (CSV
streamed chunk by chunk, XLSX and JSON refused above a limit)."""

import csv
import io
import json

import openpyxl
import pytest
from asgiref.sync import async_to_sync
from django.contrib import admin
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.admin import export as admin_export
from common.admin.export import FORMULA_PREFIXES
from ops_admin.roles import AUDITOR
from tests.support.admin_people import admin_user_of_kind
from users.admin import UserAPIHitLogResource
from users.models import UserAPIHitLog
from users.tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:users_userapihitlog_export")
HYPERLINK = '=HYPERLINK("http://x","y")'
HOSTILE_USER_AGENT = (
    f"Mozilla/5.0 (Linux; Android 10; {HYPERLINK} Build/QP1A) AppleWebKit/537.36 Chrome/90 Mobile Safari/537.36"
)


@pytest.fixture
def auditor(client):
    client.force_login(admin_user_of_kind(AUDITOR))
    return client


def export(client, extension: str, query: str = ""):
    """The hits exported as `extension` with every column: a list of rows (header first)."""
    formats = admin.site._registry[UserAPIHitLog].get_export_formats()
    index = next(i for i, file_format in enumerate(formats) if file_format().get_extension() == extension)
    columns = {f"userapihitlogresource_{name}": "on" for name in UserAPIHitLogResource().get_export_order()}
    response = client.post(EXPORT + query, {"format": str(index), "resource": "0", **columns})
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if extension == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
        return [[cell.value for cell in row] for row in sheet.iter_rows()]
    if extension == "json":
        return json.loads(content)
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


def column(rows, name):
    header, *data = rows
    return [row[header.index(name)] for row in data]


def formula_like(rows):
    return [cell for row in rows[1:] for cell in row if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES)]


def hit_with(**fields):
    values = {
        "method": "GET",
        "api_name": "/api/users/",
        "status_code": 200,
        "duration_ms": 1.0,
        "timestamp": timezone.now(),
        **fields,
    }
    return UserAPIHitLog.objects.create(**values)


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_a_user_agent_naming_a_formula_device_is_exported_as_text(api_client, auditor, extension):
    api_client.get("/api/users/", HTTP_USER_AGENT=HOSTILE_USER_AGENT)
    assert UserAPIHitLog.objects.get().device == HYPERLINK

    rows = export(auditor, extension)

    assert column(rows, "device") == ["'" + HYPERLINK]
    assert formula_like(rows) == []


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize("value", ["+HYPERLINK(1)", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1", "==1+1"])
def test_text_starting_like_a_formula_gets_an_apostrophe(auditor, extension, value):
    hit_with(api_name=value, request_id=value, browser_name=value)

    rows = export(auditor, extension)

    # XML reads a CR back as a LF
    expected = "'" + (value.replace("\r", "\n") if extension == "xlsx" else value)
    assert column(rows, "api_name") == column(rows, "request_id") == column(rows, "browser_name") == [expected]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_harmless_values_are_exported_as_they_are(auditor, extension):
    hit_with(api_name="/api/users/", browser_name="Firefox", os_name="-", device="")

    rows = export(auditor, extension)

    assert column(rows, "api_name") == ["/api/users/"]
    assert column(rows, "browser_name") == ["Firefox"]


def test_json_export_keeps_the_exact_values(auditor):
    hit_with(device=HYPERLINK)

    rows = export(auditor, "json")

    assert [row["device"] for row in rows] == [HYPERLINK]


def test_exports_are_offered_as_csv_xlsx_and_json_only():
    formats = admin.site._registry[UserAPIHitLog].get_export_formats()

    assert [file_format().get_extension() for file_format in formats] == ["csv", "xlsx", "json"]


# -- large tables: CSV streamed in chunks, XLSX and JSON capped --------------------------------


def hits(count, **fields):
    return [hit_with(api_name=f"/api/{n}/", **fields) for n in range(count)]


def test_csv_export_streams_every_row_newest_first_chunk_by_chunk(auditor, monkeypatch):
    monkeypatch.setattr(admin_export, "EXPORT_CHUNK_ROWS", 3)
    hits(8)

    with CaptureQueriesContext(connection) as queries:
        rows = export(auditor, "csv")

    assert column(rows, "api_name") == [f"/api/{n}/" for n in reversed(range(8))]
    table = UserAPIHitLog._meta.db_table
    assert len([q for q in queries if f'FROM "{table}"' in q["sql"] or f"FROM `{table}`" in q["sql"]]) == 3


def test_csv_export_is_a_stream(auditor):
    hits(1)

    response = auditor.post(EXPORT, {"format": "0", "resource": "0", "userapihitlogresource_api_name": "on"})

    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="UserAPIHitLog-')


def test_csv_export_keeps_the_list_filter_and_the_chosen_columns(auditor):
    hit_with(api_name="/api/broken/", status_code=503)
    hit_with(api_name="/api/fine/", status_code=200)

    response = auditor.post(
        EXPORT + "?status_class=5",
        {
            "format": "0",
            "resource": "0",
            "userapihitlogresource_api_name": "on",
            "userapihitlogresource_status_code": "on",
        },
    )

    assert list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))) == [
        ["api_name", "status_code"],
        ["/api/broken/", "503"],
    ]


def test_csv_export_needs_the_view_permission(client):
    client.force_login(StaffUserFactory())
    hits(1)

    response = client.post(EXPORT, {"format": "0", "resource": "0", "userapihitlogresource_api_name": "on"})

    assert response.status_code == 403


@pytest.mark.parametrize("extension", ["xlsx", "json"])
def test_an_in_memory_export_above_its_limit_is_refused_with_a_way_out(auditor, monkeypatch, extension):
    monkeypatch.setattr(admin_export, "EXPORT_IN_MEMORY_MAX_ROWS", 3)
    hits(4)

    formats = admin.site._registry[UserAPIHitLog].get_export_formats()
    index = next(i for i, file_format in enumerate(formats) if file_format().get_extension() == extension)
    response = auditor.post(EXPORT, {"format": str(index), "resource": "0", "userapihitlogresource_api_name": "on"})

    assert "Content-Disposition" not in response
    assert f"{extension.upper()} exports are limited to 3 rows" in response.content.decode()
    assert "choose CSV" in response.content.decode()


@pytest.mark.parametrize("extension", ["xlsx", "json"])
def test_an_in_memory_export_within_its_limit_is_served(auditor, monkeypatch, extension):
    monkeypatch.setattr(admin_export, "EXPORT_IN_MEMORY_MAX_ROWS", 3)
    hits(3)

    rows = export(auditor, extension)

    assert len(rows) == (3 if extension == "json" else 4)


def test_csv_export_under_asgi_is_read_chunk_by_chunk_not_whole(monkeypatch):
    """Django reads a plain iterator whole before sending it under ASGI: the stream must be async."""
    monkeypatch.setattr(admin_export, "EXPORT_CHUNK_ROWS", 2)
    hits(5, device=HYPERLINK)
    client = AsyncClient()
    client.force_login(admin_user_of_kind(AUDITOR))

    async def export_csv():
        response = await client.post(
            EXPORT,
            {
                "format": "0",
                "resource": "0",
                "userapihitlogresource_api_name": "on",
                "userapihitlogresource_device": "on",
            },
        )
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = async_to_sync(export_csv)()

    assert response.is_async
    assert len(chunks) == 4  # the header, then chunks of 2, 2 and 1 rows
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[1:] == [[f"/api/{n}/", "'" + HYPERLINK] for n in reversed(range(5))]
