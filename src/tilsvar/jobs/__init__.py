"""The database-backed job queue (``queue``), the worker loop (``worker``) and the handlers it runs."""
