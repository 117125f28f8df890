"""Alembic environment: uses the connection handed over by ``tilsvar.migrate``, or the settings URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tilsvar.db import make_engine
from tilsvar.models import Base
from tilsvar.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings().effective_database_url)
    with engine.connect() as new_connection:
        _run(new_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `tilsvar migrate`")
run_migrations_online()
