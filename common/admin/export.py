"""The admin's exports (django-import-export): safe to open in a spreadsheet, and cheap to serve
whatever the size of the table.

- CSV is streamed: rows are read newest first in chunks by primary key and written out chunk by
  chunk, so a million rows take the memory of one chunk. (QuerySet.iterator() would not do: the
  MySQL client library holds a whole result set in memory.) Under ASGI each chunk is read in the
  request's thread and sent from the event loop, which serves other requests meanwhile.
- XLSX and JSON are built whole in memory by import-export: refused above
  EXPORT_IN_MEMORY_MAX_ROWS rows, with a message to filter or choose CSV.
- Text a spreadsheet would run as a formula is neutralised in CSV and XLSX
  (IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT), streamed or not.
"""

import csv
import io
import re

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX
from import_export.signals import post_export

# rows an XLSX or JSON export may hold: openpyxl and tablib keep every cell in memory (10,000 API
# hits as XLSX: +52 MiB and 6 s in the request; bench/export.py)
EXPORT_IN_MEMORY_MAX_ROWS = 10_000
# rows read per query while streaming
EXPORT_CHUNK_ROWS = 2_000

# what makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_cell_neutralise(value):
    """`value`, inert in a spreadsheet: text starting like a formula gets a leading apostrophe
    (shown, never run); a plain number such as -3.5 is left alone, as is anything not text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _escaping_formulae() -> bool:
    return getattr(settings, "IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT", False) is True


class _FormulaEscaping:
    """import-export calls this when IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is on; its own
    version drops a leading "=" only (so "==1+1" and "+1+1" still run) and turns every cell,
    empty ones too, into text."""

    def _escape_formulae(self, dataset):
        headers = dataset.headers
        rows = [[spreadsheet_cell_neutralise(cell) for cell in row] for row in dataset]
        dataset.wipe()
        dataset.headers = headers
        dataset.extend(rows)


class ExportCSV(_FormulaEscaping, CSV):
    pass


class ExportXLSX(_FormulaEscaping, XLSX):
    pass


class ExportJSON(JSON):
    def _escape_formulae(self, dataset):
        # JSON is data, not a sheet: no spreadsheet runs it, so its values stay exact
        pass


EXPORT_FORMATS = [ExportCSV, ExportXLSX, ExportJSON]


class SafeExportMixin(ExportMixin):
    """ExportMixin for the admins of large tables: CSV streamed, XLSX and JSON capped. Exports
    need the view permission (import-export lets any staff user export unless told otherwise)."""

    export_formats = EXPORT_FORMATS

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        if not self.has_export_permission(request):
            raise PermissionDenied
        if isinstance(file_format, CSV):
            return self._csv_stream_response(file_format, request, queryset, export_form)
        if queryset[: EXPORT_IN_MEMORY_MAX_ROWS + 1].count() > EXPORT_IN_MEMORY_MAX_ROWS:
            # export_action shows a ValueError's text above the export form
            raise ValueError(
                f"{file_format.get_extension().upper()} exports are limited to {EXPORT_IN_MEMORY_MAX_ROWS:,} "
                f"rows and this one has more: narrow it down with the filters or the search, or choose CSV, "
                f"which exports any number of rows."
            )
        return super()._do_file_export(file_format, request, queryset, export_form=export_form)

    def _csv_stream_response(self, file_format, request, queryset, export_form):
        resource_class = self.choose_export_resource_class(export_form, request)
        resource = resource_class(**self.get_export_resource_kwargs(request, export_form=export_form))
        chunks = _csv_chunks(
            resource=resource,
            queryset=resource.filter_export(queryset),
            selected_fields=self.get_export_resource_fields_from_form(export_form),
            encoding=self.to_encoding or "utf-8",
        )
        response = StreamingHttpResponse(
            _read_in_request_thread(chunks) if isinstance(request, ASGIRequest) else chunks,
            content_type=file_format.get_content_type(),
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{self.get_export_filename(request, queryset, file_format)}"'
        )
        post_export.send(sender=None, model=self.model)
        return response


def _csv_chunks(*, resource, queryset, selected_fields, encoding: str):
    """The CSV import-export would write, as bytes: the header, then one piece per chunk of rows."""
    escape = _escaping_formulae()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(resource.get_export_headers(selected_fields=selected_fields))
    yield _buffer_take(buffer, encoding)
    for chunk in _newest_first_in_chunks(queryset, size=EXPORT_CHUNK_ROWS):
        for instance in chunk:
            row = resource.export_resource(instance, selected_fields=selected_fields)
            writer.writerow([spreadsheet_cell_neutralise(cell) for cell in row] if escape else row)
        yield _buffer_take(buffer, encoding)


def _buffer_take(buffer: io.StringIO, encoding: str) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode(encoding)


def _newest_first_in_chunks(queryset, *, size: int):
    """`queryset` newest first, `size` rows per query, each query starting below the last row
    read: served by the primary key, or by the filter's (column, id) index, however deep it goes.
    (The changelist's own sort is not kept: the export is in id order, newest first.)"""
    queryset = queryset.order_by("-pk")
    last_pk = None
    while True:
        chunk = list((queryset if last_pk is None else queryset.filter(pk__lt=last_pk))[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last_pk = chunk[-1].pk


async def _read_in_request_thread(chunks):
    """`chunks` for an ASGI server: Django would read a plain iterator whole before sending it.
    Each chunk is read in the request's thread, where its database connection lives."""
    next_chunk = sync_to_async(next, thread_sensitive=True)
    while (chunk := await next_chunk(chunks, None)) is not None:
        yield chunk
