"""Search: a full-text index over every message, kept up to date by triggers; saved searches

SQLite: ``search_messages``, a contentless FTS5 table (rowid = message id) with the unicode61
tokenizer folding diacritics, filled by triggers on ``messages`` insert, update of the text and
delete. PostgreSQL: ``search_messages`` (message id, tsvector) with a GIN index, filled by triggers
(one statement-level INSERT per insert statement, a row trigger on text changes, ON DELETE CASCADE).
Both index the redacted text when a message has one (``redacted_text``), so search never finds or
shows the personal data it masks. The folding (``tilsvar.search.folding``) is written out here as
it was when this migration was made; changing it later needs a migration that rebuilds the index
(on SQLite a contentless table must be given exactly the text it indexed to delete a row).

Existing messages are indexed during the upgrade.

Note for later migrations: on SQLite, a ``batch_alter_table("messages")`` that recreates the table
drops these triggers with it; recreate them afterwards (tests/test_search.py checks they exist).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Folding as of this revision (tilsvar.search.folding): Latin letters to ASCII.
FOLD_SINGLE_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïðñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥ"
    "ĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁłŃńŅņŇňŉŊŋŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔ"
    "ǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
)
FOLD_SINGLE_TO = (
    "AAAAAACEEEEIIIIDNOOOOOOUUUUYaaaaaaceeeeiiiidnoooooouuuuyyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHh"
    "HhIiIiIiIiIiJjKkLlLlLlLlLlNnNnNnnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUu"
    "UuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"
)
FOLD_MULTI = {
    "Æ": "AE",
    "æ": "ae",
    "Þ": "TH",
    "þ": "th",
    "ß": "ss",
    "Œ": "OE",
    "œ": "oe",
    "Ĳ": "IJ",
    "ĳ": "ij",
}
# ASCII punctuation separates words (as in the query parser and SQLite's tokenizer).
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# The letters SQLite's unicode61 tokenizer does not fold by itself.
SQLITE_EXTRA_FOLDS = {
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ß": "ss", "đ": "d", "Đ": "d",
    "ð": "d", "Ð": "d", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ħ": "h", "ı": "i",
}  # fmt: skip

TRIGGERS = ("search_messages_insert", "search_messages_update", "search_messages_delete")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sqlite_fold(row: str) -> str:
    expression = f"coalesce({row}.redacted_text, {row}.text)"
    for source, target in SQLITE_EXTRA_FOLDS.items():
        expression = f"replace({expression}, {_literal(source)}, {_literal(target)})"
    return expression


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_messages USING fts5("
        "body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"INSERT INTO search_messages (rowid, body) SELECT id, {_sqlite_fold('messages')} FROM messages"
    )
    op.execute(
        "CREATE TRIGGER search_messages_insert AFTER INSERT ON messages BEGIN "
        f"INSERT INTO search_messages (rowid, body) VALUES (new.id, {_sqlite_fold('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER search_messages_update AFTER UPDATE OF text, redacted_text ON messages "
        "WHEN old.text IS NOT new.text OR old.redacted_text IS NOT new.redacted_text BEGIN "
        "INSERT INTO search_messages (search_messages, rowid, body) "
        f"VALUES ('delete', old.id, {_sqlite_fold('old')}); "
        f"INSERT INTO search_messages (rowid, body) VALUES (new.id, {_sqlite_fold('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER search_messages_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO search_messages (search_messages, rowid, body) "
        f"VALUES ('delete', old.id, {_sqlite_fold('old')}); END"
    )


def _upgrade_postgresql() -> None:
    fold = "translate($1, " + _literal(FOLD_SINGLE_FROM + PUNCTUATION) + ", "
    fold += _literal(FOLD_SINGLE_TO + " " * len(PUNCTUATION)) + ")"
    for source, target in FOLD_MULTI.items():
        fold = f"replace({fold}, {_literal(source)}, {_literal(target)})"
    op.execute(
        "CREATE FUNCTION tilsvar_search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"AS $$ SELECT lower({fold}) $$"
    )
    op.execute(
        "CREATE TABLE search_messages ("
        "message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE, "
        "document TSVECTOR NOT NULL)"
    )
    op.execute(
        "INSERT INTO search_messages (message_id, document) SELECT id, "
        "to_tsvector('simple', tilsvar_search_fold(coalesce(redacted_text, text))) FROM messages"
    )
    op.execute("CREATE INDEX ix_search_messages_document ON search_messages USING gin (document)")
    op.execute(
        "CREATE FUNCTION tilsvar_search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_messages (message_id, document) SELECT id, "
        "to_tsvector('simple', tilsvar_search_fold(coalesce(redacted_text, text))) FROM new_messages; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_messages_insert AFTER INSERT ON messages "
        "REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT "
        "EXECUTE FUNCTION tilsvar_search_messages_inserted()"
    )
    op.execute(
        "CREATE FUNCTION tilsvar_search_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE search_messages SET document = "
        "to_tsvector('simple', tilsvar_search_fold(coalesce(NEW.redacted_text, NEW.text))) "
        "WHERE message_id = NEW.id; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_messages_update AFTER UPDATE OF text, redacted_text ON messages "
        "FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text "
        "OR OLD.redacted_text IS DISTINCT FROM NEW.redacted_text) "
        "EXECUTE FUNCTION tilsvar_search_messages_updated()"
    )


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_saved_searches_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_searches_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_searches_user_id_name")),
    )
    op.create_index(
        op.f("ix_saved_searches_organization_id"), "saved_searches", ["organization_id"], unique=False
    )
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_messages")
    else:
        for trigger in ("search_messages_insert", "search_messages_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON messages")
        op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_inserted()")
        op.execute("DROP FUNCTION IF EXISTS tilsvar_search_messages_updated()")
        op.execute("DROP TABLE IF EXISTS search_messages")
        op.execute("DROP FUNCTION IF EXISTS tilsvar_search_fold(text)")
    op.drop_index(op.f("ix_saved_searches_organization_id"), table_name="saved_searches")
    op.drop_table("saved_searches")
