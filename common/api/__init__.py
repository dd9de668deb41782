"""What every view of the REST API shares: its error handler, pagination, parsers and schema."""
