"""The admin's exports (django-import-export), safe to open in a spreadsheet: text a spreadsheet
would run as a formula is neutralised in CSV and XLSX (IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT)."""

import re

from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX

# what makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_cell_neutralise(value):
    """`value`, inert in a spreadsheet: text starting like a formula gets a leading apostrophe
    (shown, never run); a plain number such as -3.5 is left alone, as is anything not text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


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
    """ExportMixin offering only the formats above. Exports need the view permission
    (import-export lets any staff user export unless told otherwise)."""

    export_formats = EXPORT_FORMATS

    def has_export_permission(self, request):
        return self.has_view_permission(request)
