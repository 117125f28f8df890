"""Alembic migrations; ``tilsvar migrate`` runs them (see ``tilsvar.migrate``)."""
