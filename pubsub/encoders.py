from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.fields.files import FieldFile


class OutboxJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder (datetimes, dates, times, decimals, UUIDs, lazy strings) plus file fields,
    which travel as their storage name (or null when empty)."""

    def default(self, o):
        if isinstance(o, FieldFile):
            return o.name or None
        return super().default(o)
