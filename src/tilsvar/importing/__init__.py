"""Bulk import of message files (INTERFACES.md formats): pure parsers here, storage through
``actions.ingest`` — the same path live traffic takes."""
