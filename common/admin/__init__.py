"""What the admins of every app share: list filters, pagination of big tables, read-only admins,
safe exports, message body redaction."""
