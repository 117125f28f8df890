"""PostgreSQL search: an index of adjacent word pairs, so a phrase is looked up rather than rechecked,
and a covering sort-key index, so a query of filters only walks the index alone.

**Pairs.** GIN keeps no positions, so for ``"toget er forsinket"`` PostgreSQL used to fetch and
recheck every message holding all three words (tens of thousands at a million messages, even when
the phrase never occurs). ``search_messages.pairs`` is a generated column holding each pair of
adjacent lexemes of the document (``'toget er'``, ``'er forsinket'``), taken from the document's own
positions, so every message the phrase operator ``<->`` can match has all the phrase's pairs; the
engine adds ``pairs @@ 'toget er' & 'er forsinket'`` to a phrase query and still checks the phrase
itself on the document. Lexemes longer than :data:`PAIR_WORD_BYTES` bytes are left out of pairs
(which keeps a pairs tsvector far below PostgreSQL's 1 MB limit); the engine then does not narrow by
them.

**Newest first with the facet columns.** The B-tree on ``sort_key`` (and the partial one of messages
with personal data) now carry the facet columns (``INCLUDE``), so "the newest 2,000 messages with
``intent:press channel:facebook``" is an index-only scan that tests the filters on the index entries
instead of fetching a heap row (with its tsvector) per message passed over.

SQLite needs nothing: FTS5 keeps positions in its index, and ``search_facets`` is already narrow.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

PAIR_WORD_BYTES = 24  # the engine's search/query.py uses the same bound
COVERED = "message_id, conversation_id, brand_id, channel_id, language, intent, sentiment, status, has_pii"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE FUNCTION tilsvar_search_pairs(tsvector) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "SELECT array_to_tsvector(coalesce(array_agg(a.lexeme || ' ' || b.lexeme), '{}')) "
        "FROM (SELECT lexeme, unnest(positions) AS p FROM unnest($1) "
        f"WHERE octet_length(lexeme) <= {PAIR_WORD_BYTES}) a "
        "JOIN (SELECT lexeme, unnest(positions) AS p FROM unnest($1) "
        f"WHERE octet_length(lexeme) <= {PAIR_WORD_BYTES}) b ON b.p = a.p + 1 $$"
    )
    op.execute(
        "ALTER TABLE search_messages ADD COLUMN pairs TSVECTOR "
        "GENERATED ALWAYS AS (tilsvar_search_pairs(document)) STORED"
    )
    op.execute("CREATE INDEX ix_search_messages_pairs ON search_messages USING gin (pairs)")
    op.execute(f"CREATE INDEX ix_search_messages_newest ON search_messages (sort_key) INCLUDE ({COVERED})")
    op.execute("DROP INDEX ix_search_messages_sort_key")
    op.execute(
        "CREATE INDEX ix_search_messages_pii_newest ON search_messages (sort_key) "
        f"INCLUDE ({COVERED}) WHERE has_pii"
    )
    op.execute("DROP INDEX ix_search_messages_pii")
    # Statistics for the new column (the planner's estimates of a phrase); the rewritten table's
    # visibility map (index-only scans) waits for the next VACUUM, which cannot run in a migration.
    op.execute("ANALYZE search_messages")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE INDEX ix_search_messages_pii ON search_messages (sort_key) WHERE has_pii")
    op.execute("DROP INDEX ix_search_messages_pii_newest")
    op.execute("CREATE INDEX ix_search_messages_sort_key ON search_messages (sort_key)")
    op.execute("DROP INDEX ix_search_messages_newest")
    op.execute("DROP INDEX ix_search_messages_pairs")
    op.execute("ALTER TABLE search_messages DROP COLUMN pairs")
    op.execute("DROP FUNCTION tilsvar_search_pairs(tsvector)")
