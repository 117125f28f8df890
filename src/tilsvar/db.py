"""Database engine and sessions for both storage profiles (SQLite WAL and PostgreSQL).

Also the ``on_commit`` hook: actions register callbacks (publishing events, waking workers) that run
only after their transaction has committed, never from ORM hooks and never for rolled-back work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Dialect,
    Engine,
    Executable,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tilsvar.models.base import UTCDateTime
from tilsvar.settings import Settings, get_settings

_ON_COMMIT_KEY = "tilsvar_on_commit"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine with the pragmas/options each backend needs for concurrent web + worker use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE), so two writers queue instead
            # of failing on lock upgrade; readers begin deferred and never block a writer (WAL).
            readonly = conn.get_execution_options().get("tilsvar_readonly")
            # Straight to the driver's cursor (as ``Prepared`` does; errors are raised as SQLAlchemy
            # raises them): ``exec_driver_sql``'s execution context cost more than the BEGIN itself,
            # on every write transaction (a webhook's routing is about 1.5 ms in all).
            _driver_run(conn, "BEGIN" if readonly else "BEGIN IMMEDIATE", (), many=False)

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """An engine plus its session factory; one per process (tests make one per database)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self.engine.execution_options(tilsvar_readonly=True), expire_on_commit=False
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; on SQLite it avoids taking the write lock."""
        with self.read_sessionmaker() as session:
            yield session  # closing ends the transaction; loaded objects stay readable

    def dispose(self) -> None:
        self.engine.dispose()


_database: Database | None = None


def get_database(settings: Settings | None = None) -> Database:
    """The process-wide database for the current settings."""
    global _database
    settings = settings or get_settings()
    url = settings.effective_database_url
    if _database is None or _database.url != url:
        if _database is not None:
            _database.dispose()
        _database = Database(url, pool_size=settings.db_pool_size)
    return _database


def reset_database() -> None:
    global _database
    if _database is not None:
        _database.dispose()
    _database = None


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction has committed."""
    session.info.setdefault(_ON_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    callbacks: list[Callable[[], None]] = session.info.pop(_ON_COMMIT_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop(_ON_COMMIT_KEY, None)


def insert_returning_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` in one batch and return their new ids, in order.

    PostgreSQL does this with one ordered ``INSERT ... RETURNING`` per page of rows. SQLite would fall
    back to a statement per row, so there the ids are assigned here instead: a write transaction on
    SQLite holds the database's write lock from its start (``BEGIN IMMEDIATE``), so no other writer can
    take ``max(id) + 1`` in between, and a plain ``executemany`` inserts the batch."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        start = int(session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        ids = list(range(start + 1, start + 1 + len(rows)))
        bulk_insert(session, table, [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)])
        return ids
    return list(
        session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars()
    )


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one ``executemany``.

    On SQLite the rows go straight to the driver with each value converted once by a per-column
    converter (the same text SQLAlchemy would store), because SQLAlchemy's per-parameter processing
    costs several times the insert itself on bulk imports. Python-side column defaults are filled in
    as SQLAlchemy would. Elsewhere this is a plain Core ``insert``."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        session.execute(insert(table), rows)
        return
    given = tuple(rows[0])
    plan = _insert_plans.get((table, given))
    if plan is None:
        plan = _insert_plans[(table, given)] = _insert_plan(table, given, dialect)
    sql, converters, fixed, made = plan
    fetch = itemgetter(*given)
    columns: list[Iterable[Any]] = (
        list(zip(*(fetch(row) for row in rows), strict=True))
        if len(given) > 1
        else [[fetch(row) for row in rows]]
    )
    columns += [[value] * len(rows) for value in fixed]
    columns += [[make(None) for _ in rows] for make in made]
    for index, convert in enumerate(converters):
        if convert is _json_text:
            columns[index] = [convert(value) for value in columns[index]]
        elif convert is not None:
            columns[index] = [None if value is None else convert(value) for value in columns[index]]
    params = list(zip(*columns, strict=True))
    # Straight to the driver's cursor (as ``Prepared`` does): routing inserts a handful of single
    # rows per message, where the execution context of ``exec_driver_sql`` cost more than the insert.
    _driver_run(connection, sql, params, many=True)


InsertPlan = tuple[str, list[Callable[[Any], Any] | None], list[Any], list[Callable[[Any], Any]]]
# (table, the given keys) -> the SQLite INSERT, its converters and the defaults to fill in. Built once:
# bulk_insert runs for every routed message, where working this out again cost more than the insert.
_insert_plans: dict[tuple[Table, tuple[str, ...]], InsertPlan] = {}


def _insert_plan(table: Table, given: tuple[str, ...], dialect: Dialect) -> InsertPlan:
    scalar_defaults: dict[str, Any] = {}
    callable_defaults: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        default: Any = column.default
        if column.name in given or default is None:
            continue
        if default.is_callable:
            callable_defaults[column.name] = default.arg  # evaluated per row, as SQLAlchemy does
        else:
            scalar_defaults[column.name] = default.arg
    names = list(given) + list(scalar_defaults) + list(callable_defaults)
    converters = [_sqlite_converter(table.c[name], dialect) for name in names]
    sql = (
        f'INSERT INTO "{table.name}" ({", ".join(chr(34) + name + chr(34) for name in names)}) '
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    return sql, converters, list(scalar_defaults.values()), list(callable_defaults.values())


def _sqlite_text_instant(value: datetime) -> str:
    """The text SQLAlchemy's SQLite dialect stores for the UTC instant ``value``."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_converter(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a Python value of ``column`` is stored on SQLite (None: as it is)."""
    if isinstance(column.type, UTCDateTime):
        return _sqlite_text_instant
    if isinstance(column.type, JSON):
        return _json_text
    processor: Callable[[Any], Any] | None = column.type.bind_processor(dialect)
    return processor


def _json_text(value: Any) -> str:
    return json.dumps(value)


class Prepared:
    """A pre-built Core statement that a hot path runs many times a second (routing a webhook's
    message runs a dozen of them): on SQLite its compiled SQL goes straight to the driver's cursor
    — the statement, its parameters and the dialect's own bind and result conversions are the same
    as ``Connection.execute`` would use, without its per-call work (the cache key, the execution
    context and result set-up), which costs several times a small statement's run in SQLite.
    Elsewhere (PostgreSQL, where the round trip dominates) it is a plain ``Connection.execute``.

    Only for statements without expanding (``IN``-list) parameters. ``execute`` returns the rows as
    tuples (``[]`` for an UPDATE); a list of parameter sets runs as an ``executemany``."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan] = {}

    def execute(
        self, connection: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> list[tuple[Any, ...]]:
        dialect = connection.dialect
        if dialect.name != "sqlite":
            result = connection.execute(self.statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
        return self._plan(dialect).run(connection, params or {})[0]

    def changed(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> int:
        """Run an INSERT/UPDATE/DELETE for each parameter set; the number of rows it changed."""
        if connection.dialect.name != "sqlite":
            return int(connection.execute(self.statement, list(params)).rowcount)
        return self._plan(connection.dialect).run(connection, params)[1]

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _Plan.of(self.statement, dialect)
        return plan


@dataclass(frozen=True)
class _Plan:
    sql: str
    sources: tuple[
        tuple[str | None, Any, Callable[[Any], Any] | None], ...
    ]  # (param key | None, value, conversion)
    results: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> _Plan:
        compiled: Any = cast(Any, statement).compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.positiontup is None:
            raise ValueError("Prepared takes positional statements without expanding parameters")
        sources = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            convert = compiled._bind_processors.get(name)
            if bind.callable is None and bind.value is None and bind.required:
                sources.append((bind.key, None, convert))
            else:
                sources.append((None, bind.effective_value, convert))
        results = tuple(
            column.type._cached_result_processor(dialect, None) for column in compiled._result_columns
        )
        return cls(compiled.string, tuple(sources), results)

    def _positional(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for key, constant, convert in self.sources:
            value = params[key] if key is not None else constant
            values.append(value if convert is None or value is None else convert(value))
        return tuple(values)

    def run(
        self, connection: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> tuple[list[tuple[Any, ...]], int]:
        if isinstance(params, Mapping):
            rows, count = _driver_run(connection, self.sql, self._positional(params), many=False)
        else:
            rows, count = _driver_run(
                connection, self.sql, [self._positional(one) for one in params], many=True
            )
        converted = self.converted
        if not converted:
            return [tuple(row) for row in rows], count
        out = []
        for row in rows:
            values = list(row)
            for index, convert in converted:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            out.append(tuple(values))
        return out, count

    @cached_property
    def converted(self) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """The result columns that need a conversion, by position (most need none)."""
        return tuple((index, convert) for index, convert in enumerate(self.results) if convert is not None)


def _driver_run(connection: Connection, sql: str, parameters: Any, *, many: bool) -> tuple[list[Any], int]:
    """Run SQL on the DBAPI cursor of ``connection`` (inside its transaction); the rows (none for
    ``many``) and the row count. Driver errors are raised as SQLAlchemy raises them."""
    dbapi_error: type[Exception] = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, parameters)
            return [], cursor.rowcount
        cursor.execute(sql, parameters)
        return cursor.fetchall(), cursor.rowcount
    except dbapi_error as error:
        raise DBAPIError.instance(sql, parameters, error, dbapi_error) from error
    finally:
        cursor.close()
