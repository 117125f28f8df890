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

**Words, for prefixes.** A query word is matched as a prefix (``billet`` → ``billet:*``), and GIN
answers a prefix by collecting every posting of every lexeme it covers into a bitmap first, which
cannot skip: ``(cykel:* | hund:*) & tog:*`` cost 50 ms at a million messages. ``search_words`` lists
the index's lexemes (all but those starting with a digit or shorter than three letters, which no
query prefix can match), kept by triggers on ``search_messages``, so the engine can write a prefix as
the OR of the words it covers (``billet | billett | billetten``), which GIN intersects lazily (6 ms),
as the SQLite engine does with FTS5's own term list. A word no message holds any more (deleted,
erased, redacted or edited away) is removed by the delete and update triggers, so personal data does
not linger in the list.

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
# The lexemes search_words keeps: any a query prefix (three letters or more, no digit first) can match.
WORD_KEPT = "length(word) >= 3 AND word !~ '^[0-9]'"
COVERED = "message_id, conversation_id, brand_id, channel_id, language, intent, sentiment, status, has_pii"


def _lexeme(expression: str) -> str:
    """SQL for the tsquery text of the one lexeme ``expression``, quoted (quotes and backslashes
    escaped), to cast rather than parse (``to_tsquery`` might split it)."""
    quote = "''''"  # SQL for a string of one single quote
    escaped = f"replace(replace({expression}, '\\', '\\\\'), {quote}, '''''')"
    return f"({quote} || {escaped} || {quote})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # PL/pgSQL rather than SQL: its plan is kept for the session, where a SQL function's would be
    # made again for every one-row INSERT (that cost 45 % of the insert rate, this costs 28 %).
    op.execute(
        "CREATE FUNCTION tilsvar_search_pairs(tsvector) RETURNS tsvector "
        "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ BEGIN RETURN ("
        "SELECT array_to_tsvector(coalesce(array_agg(a.lexeme || ' ' || b.lexeme), '{}')) "
        "FROM (SELECT lexeme, unnest(positions) AS p FROM unnest($1) "
        f"WHERE octet_length(lexeme) <= {PAIR_WORD_BYTES}) a "
        "JOIN (SELECT lexeme, unnest(positions) AS p FROM unnest($1) "
        f"WHERE octet_length(lexeme) <= {PAIR_WORD_BYTES}) b ON b.p = a.p + 1); END $$"
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
    op.execute('CREATE TABLE search_words (word TEXT COLLATE "C" PRIMARY KEY)')
    op.execute(
        f"INSERT INTO search_words (word) SELECT DISTINCT word FROM search_messages, "
        f"unnest(tsvector_to_array(document)) AS word WHERE {WORD_KEPT} ORDER BY word"
    )
    # Statement-level, from the transition table; in word order, so that two transactions adding
    # the same new words wait for each other rather than deadlock.
    op.execute(
        "CREATE FUNCTION tilsvar_search_words_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_words (word) SELECT DISTINCT word FROM added, "
        f"unnest(tsvector_to_array(added.document)) AS word WHERE {WORD_KEPT} ORDER BY word "
        "ON CONFLICT DO NOTHING; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_words_insert AFTER INSERT ON search_messages "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tilsvar_search_words_added()"
    )
    # Whether any message's document holds a word: a statement of its own, so that the planner sees
    # the word (a GIN lookup for a rare one, a scan stopping at the first message for a common one).
    op.execute(
        "CREATE FUNCTION tilsvar_search_word_indexed(text) RETURNS boolean LANGUAGE plpgsql STABLE "
        "AS $$ DECLARE found boolean; BEGIN EXECUTE format('SELECT EXISTS (SELECT 1 FROM search_messages "
        f"WHERE document @@ %L::tsquery)', {_lexeme('$1')}) INTO found; RETURN found; END $$"
    )
    # Forget the words no message holds any more (erased or redacted text must not linger here).
    # Before deleting, take a lock that waits for the transactions adding words and keeps new ones
    # out until commit: one of them may hold a message with a word it found listed (and so did not
    # list again) that this transaction cannot see yet.
    op.execute(
        "CREATE FUNCTION tilsvar_search_words_forget(text[]) RETURNS void LANGUAGE plpgsql AS $$ "
        "DECLARE gone text[]; BEGIN "
        "SELECT array_agg(word ORDER BY word) INTO gone FROM unnest($1) AS word "
        "WHERE NOT tilsvar_search_word_indexed(word); "
        "IF gone IS NULL THEN RETURN; END IF; "
        "LOCK TABLE search_words IN SHARE ROW EXCLUSIVE MODE; "
        "DELETE FROM search_words WHERE word = ANY (gone) AND NOT tilsvar_search_word_indexed(word); "
        "END $$"
    )
    op.execute(
        "CREATE FUNCTION tilsvar_search_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_words (word) SELECT DISTINCT word FROM added JOIN removed USING (message_id), "
        "unnest(tsvector_to_array(added.document)) AS word "
        f"WHERE added.document IS DISTINCT FROM removed.document AND {WORD_KEPT} ORDER BY word "
        "ON CONFLICT DO NOTHING; "
        "PERFORM tilsvar_search_words_forget(ARRAY(SELECT DISTINCT word FROM removed "
        "JOIN added USING (message_id), unnest(tsvector_to_array(removed.document)) AS word "
        f"WHERE removed.document IS DISTINCT FROM added.document AND {WORD_KEPT} "
        f"AND NOT added.document @@ {_lexeme('word')}::tsquery)); "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_words_update AFTER UPDATE ON search_messages "
        "REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION tilsvar_search_words_changed()"
    )
    op.execute(
        "CREATE FUNCTION tilsvar_search_words_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM tilsvar_search_words_forget(ARRAY(SELECT DISTINCT word FROM removed, "
        f"unnest(tsvector_to_array(removed.document)) AS word WHERE {WORD_KEPT})); "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_words_delete AFTER DELETE ON search_messages "
        "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION tilsvar_search_words_removed()"
    )
    # Statistics for the new column (the planner's estimates of a phrase); the rewritten table's
    # visibility map (index-only scans) waits for the next VACUUM, which cannot run in a migration.
    op.execute("ANALYZE search_messages")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER search_words_delete ON search_messages")
    op.execute("DROP TRIGGER search_words_update ON search_messages")
    op.execute("DROP TRIGGER search_words_insert ON search_messages")
    op.execute("DROP FUNCTION tilsvar_search_words_removed()")
    op.execute("DROP FUNCTION tilsvar_search_words_changed()")
    op.execute("DROP FUNCTION tilsvar_search_words_forget(text[])")
    op.execute("DROP FUNCTION tilsvar_search_word_indexed(text)")
    op.execute("DROP FUNCTION tilsvar_search_words_added()")
    op.execute("DROP TABLE search_words")
    op.execute("CREATE INDEX ix_search_messages_pii ON search_messages (sort_key) WHERE has_pii")
    op.execute("DROP INDEX ix_search_messages_pii_newest")
    op.execute("CREATE INDEX ix_search_messages_sort_key ON search_messages (sort_key)")
    op.execute("DROP INDEX ix_search_messages_newest")
    op.execute("DROP INDEX ix_search_messages_pairs")
    op.execute("ALTER TABLE search_messages DROP COLUMN pairs")
    op.execute("DROP FUNCTION tilsvar_search_pairs(tsvector)")
