"""The Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tilsvar.db import Database
from tilsvar.models import Base

# Tables that migrations create but that are no SQLAlchemy models: the full-text index of migration
# 0006 (on SQLite an FTS5 virtual table and the shadow tables FTS5 makes for it) and the facet rows
# of migration 0011 (SQLite; on PostgreSQL they are columns of search_messages), kept by triggers,
# and the list of indexed words of migration 0024 (PostgreSQL).
NOT_MODELS = {
    "search_messages",
    "search_facets",
    "search_words",
    "search_messages_config",
    "search_messages_data",
    "search_messages_docsize",
    "search_messages_idx",
}


def _include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    return not (type_ == "table" and name in NOT_MODELS)


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _include_name}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
