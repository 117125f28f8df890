"""Search: a narrow, trigger-kept facet row per message, and an index in time order

Searching with facets over a million messages was too slow (issue 8: p95 ≤ 50 ms): every search read
the full message row and its conversation for each of its matches. This revision keeps, per
message, one narrow row with what filters and facets need (conversation, brand, channel, language,
intent, sentiment, the conversation's status, personal data found) under a **sort key** that orders
messages newest first:

    sort_key = floor(epoch seconds of created_at) * 2**32 + message id

(unique while ids stay below 2**32; newest first to the second, then by id). The full-text index is
keyed by the same number, so "the newest 20 matches" and "the newest N matches to count facets over"
come straight out of the index in order, before anything is joined.

SQLite: ``search_facets`` (``sort_key`` INTEGER PRIMARY KEY) plus the contentless FTS5 table
``search_messages`` rebuilt with rowid = sort key. PostgreSQL: the facet columns and ``sort_key`` go
into ``search_messages`` itself (one heap tuple per match holds the tsvector and the facets).

Triggers keep both current on every write path: message insert, update (text and redacted text:
re-index; created_at, labels, has_pii, channel, conversation: facet row), delete, and on
``conversations`` an update of ``status`` or ``brand_id`` rewrites the facet rows of its messages (so
the status facet is the conversation's current status). The index is rebuilt during the upgrade.

Note for later migrations: as with 0006, a SQLite ``batch_alter_table("messages")`` or
``("conversations")`` drops these triggers; recreate them afterwards (tests/test_search.py checks).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 00:30:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_previous = importlib.import_module("tilsvar.migrations.versions.0006_search_index")

SECOND = 4294967296  # 2**32: the sort key's unit of one second
SQLITE_TRIGGERS = (
    "search_messages_insert",
    "search_messages_update",
    "search_messages_delete",
    "search_facets_update",
    "search_facets_conversation",
)
FACET_COLUMNS = "sort_key, message_id, conversation_id, brand_id, channel_id, language, intent, sentiment, status, has_pii"
# The message columns a facet row depends on (besides the conversation's status and brand).
FACET_SOURCES = ("created_at", "conversation_id", "channel_id", "language", "intent", "sentiment", "has_pii")


def _sqlite_key(row: str) -> str:
    return f"(CAST(strftime('%s', {row}.created_at) AS INTEGER) * {SECOND} + {row}.id)"


def _sqlite_changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{name} IS NOT new.{name}" for name in columns)


def _sqlite_facet_values(row: str) -> str:
    return (
        f"{_sqlite_key(row)}, {row}.id, {row}.conversation_id, c.brand_id, {row}.channel_id, {row}.language, "
        f"{row}.intent, {row}.sentiment, c.status, {row}.has_pii"
    )


def _upgrade_sqlite() -> None:
    for trigger in _previous.TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_messages")
    op.execute(
        "CREATE TABLE search_facets (sort_key INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, "
        "conversation_id INTEGER NOT NULL, brand_id INTEGER NOT NULL, channel_id INTEGER NOT NULL, "
        "language VARCHAR(8), intent VARCHAR(16), sentiment VARCHAR(8), status VARCHAR(16) NOT NULL, "
        "has_pii BOOLEAN NOT NULL)"
    )
    op.execute(
        f"INSERT INTO search_facets ({FACET_COLUMNS}) SELECT {_sqlite_facet_values('m')} "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    )
    op.execute("CREATE INDEX ix_search_facets_conversation ON search_facets (conversation_id)")
    op.execute("CREATE INDEX ix_search_facets_pii ON search_facets (has_pii) WHERE has_pii = 1")
    op.execute(
        "CREATE VIRTUAL TABLE search_messages USING fts5("
        "body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"INSERT INTO search_messages (rowid, body) SELECT {_sqlite_key('messages')}, "
        f"{_previous._sqlite_fold('messages')} FROM messages ORDER BY 1"
    )
    fold_old, fold_new = _previous._sqlite_fold("old"), _previous._sqlite_fold("new")
    op.execute(
        "CREATE TRIGGER search_messages_insert AFTER INSERT ON messages BEGIN "
        f"INSERT INTO search_facets ({FACET_COLUMNS}) SELECT {_sqlite_facet_values('new')} "
        "FROM conversations c WHERE c.id = new.conversation_id; "
        f"INSERT INTO search_messages (rowid, body) VALUES ({_sqlite_key('new')}, {fold_new}); END"
    )
    op.execute(
        "CREATE TRIGGER search_messages_update AFTER UPDATE OF text, redacted_text, created_at ON messages "
        f"WHEN {_sqlite_changed(('text', 'redacted_text', 'created_at'))} BEGIN "
        "INSERT INTO search_messages (search_messages, rowid, body) "
        f"VALUES ('delete', {_sqlite_key('old')}, {fold_old}); "
        f"INSERT INTO search_messages (rowid, body) VALUES ({_sqlite_key('new')}, {fold_new}); END"
    )
    op.execute(
        f"CREATE TRIGGER search_facets_update AFTER UPDATE OF {', '.join(FACET_SOURCES)} ON messages "
        f"WHEN {_sqlite_changed(FACET_SOURCES)} BEGIN "
        f"UPDATE search_facets SET sort_key = {_sqlite_key('new')}, conversation_id = new.conversation_id, "
        "brand_id = (SELECT brand_id FROM conversations WHERE id = new.conversation_id), "
        "status = (SELECT status FROM conversations WHERE id = new.conversation_id), "
        "channel_id = new.channel_id, language = new.language, intent = new.intent, "
        f"sentiment = new.sentiment, has_pii = new.has_pii WHERE sort_key = {_sqlite_key('old')}; END"
    )
    op.execute(
        "CREATE TRIGGER search_messages_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO search_messages (search_messages, rowid, body) "
        f"VALUES ('delete', {_sqlite_key('old')}, {fold_old}); "
        f"DELETE FROM search_facets WHERE sort_key = {_sqlite_key('old')}; END"
    )
    op.execute(
        "CREATE TRIGGER search_facets_conversation AFTER UPDATE OF status, brand_id ON conversations "
        f"WHEN {_sqlite_changed(('status', 'brand_id'))} BEGIN "
        "UPDATE search_facets SET status = new.status, brand_id = new.brand_id "
        "WHERE conversation_id = new.id; END"
    )


def _downgrade_sqlite() -> None:
    for trigger in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_messages")
    op.execute("DROP TABLE IF EXISTS search_facets")
    _previous._upgrade_sqlite()


PG_KEY = "(floor(extract(epoch FROM {row}.created_at))::bigint * " + str(SECOND) + " + {row}.id)"
PG_DOCUMENT = "to_tsvector('simple', tilsvar_search_fold(coalesce({row}.redacted_text, {row}.text)))"


def _pg_values(row: str) -> str:
    return (
        f"{row}.id, {PG_KEY.format(row=row)}, {row}.conversation_id, c.brand_id, {row}.channel_id, "
        f"{row}.language, {row}.intent, {row}.sentiment, c.status, {row}.has_pii, "
        f"{PG_DOCUMENT.format(row=row)}"
    )


PG_COLUMNS = (
    "message_id, sort_key, conversation_id, brand_id, channel_id, language, intent, sentiment, status, "
    "has_pii, document"
)


def _upgrade_postgresql() -> None:
    op.execute("DROP TRIGGER IF EXISTS search_messages_insert ON messages")
    op.execute("DROP TRIGGER IF EXISTS search_messages_update ON messages")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_inserted()")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_updated()")
    op.execute("DROP TABLE IF EXISTS search_messages")
    op.execute(
        "CREATE TABLE search_messages ("
        "message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE, "
        "sort_key BIGINT NOT NULL, conversation_id BIGINT NOT NULL, brand_id BIGINT NOT NULL, "
        "channel_id BIGINT NOT NULL, language TEXT, intent TEXT, sentiment TEXT, status TEXT NOT NULL, "
        "has_pii BOOLEAN NOT NULL, document TSVECTOR NOT NULL)"
    )
    op.execute(
        f"INSERT INTO search_messages ({PG_COLUMNS}) SELECT {_pg_values('m')} "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    )
    op.execute("CREATE INDEX ix_search_messages_document ON search_messages USING gin (document)")
    op.execute("CREATE INDEX ix_search_messages_sort_key ON search_messages (sort_key)")
    op.execute("CREATE INDEX ix_search_messages_conversation ON search_messages (conversation_id)")
    op.execute("CREATE INDEX ix_search_messages_pii ON search_messages (sort_key) WHERE has_pii")
    op.execute(
        "CREATE FUNCTION tilsvar_search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO search_messages ({PG_COLUMNS}) SELECT {_pg_values('n')} "
        "FROM new_messages n JOIN conversations c ON c.id = n.conversation_id; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_messages_insert AFTER INSERT ON messages "
        "REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT "
        "EXECUTE FUNCTION tilsvar_search_messages_inserted()"
    )
    op.execute(
        "CREATE FUNCTION tilsvar_search_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE search_messages SET sort_key = {PG_KEY.format(row='NEW')}, "
        "conversation_id = NEW.conversation_id, brand_id = c.brand_id, status = c.status, "
        "channel_id = NEW.channel_id, language = NEW.language, intent = NEW.intent, "
        "sentiment = NEW.sentiment, has_pii = NEW.has_pii, document = CASE WHEN "
        "OLD.text IS DISTINCT FROM NEW.text OR OLD.redacted_text IS DISTINCT FROM NEW.redacted_text "
        f"THEN {PG_DOCUMENT.format(row='NEW')} ELSE document END "
        "FROM conversations c WHERE c.id = NEW.conversation_id AND message_id = NEW.id; "
        "RETURN NULL; END $$"
    )
    watched = ("text", "redacted_text", *FACET_SOURCES)
    op.execute(
        f"CREATE TRIGGER search_messages_update AFTER UPDATE OF {', '.join(watched)} ON messages "
        "FOR EACH ROW WHEN ("
        + " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in watched)
        + ") EXECUTE FUNCTION tilsvar_search_messages_updated()"
    )
    op.execute(
        "CREATE FUNCTION tilsvar_search_conversation_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE search_messages SET status = NEW.status, brand_id = NEW.brand_id "
        "WHERE conversation_id = NEW.id; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_facets_conversation AFTER UPDATE OF status, brand_id ON conversations "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.brand_id IS DISTINCT FROM NEW.brand_id) "
        "EXECUTE FUNCTION tilsvar_search_conversation_updated()"
    )


def _downgrade_postgresql() -> None:
    op.execute("DROP TRIGGER IF EXISTS search_facets_conversation ON conversations")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_conversation_updated()")
    op.execute("DROP TRIGGER IF EXISTS search_messages_insert ON messages")
    op.execute("DROP TRIGGER IF EXISTS search_messages_update ON messages")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_inserted()")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_updated()")
    op.execute("DROP TABLE IF EXISTS search_messages")
    op.execute("DROP FUNCTION IF EXISTS tilsvar_search_fold(text)")
    _previous._upgrade_postgresql()


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _downgrade_sqlite()
    else:
        _downgrade_postgresql()
