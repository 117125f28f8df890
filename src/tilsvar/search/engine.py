"""Run a search: one function over both full-text engines (SQLite FTS5, PostgreSQL tsvector), with
field filters, facets with counts, highlighted snippets and keyset paging, restricted to the brands
the caller may see. The API, the web page, the CLI and saved inbox views all call :func:`search`
or :func:`conversation_ids`, so they agree.

Nothing here writes: database triggers (migrations 0006 and 0011) keep, per message, a narrow facet
row (conversation, brand, channel, language, intent, sentiment, the conversation's status, personal
data found) under a *sort key* ``floor(epoch seconds of created_at) * 2**32 + message id``, and the
full-text index under the same key. So a search never reads a full message row to filter or count:

- the page is the first ``limit`` matches in descending key order straight from the index (newest
  first), joined to facet rows only; message text is read for those rows alone;
- facets and the total are counted over a sample of at most :data:`SAMPLE` matches (SQLite: the
  newest; PostgreSQL, whose GIN index has no order: the first in storage order). Beyond it the facet
  counts are the sample's shares scaled to the total (``facets_are_estimates``), and the total is the
  number of text matches (exact on SQLite, estimated on PostgreSQL) times the share of the sample
  passing the filters (``total_is_estimate`` unless it is exact);
- a word prefix is expanded to the indexed words it covers (SQLite: ``fts5vocab``; PostgreSQL:
  ``search_words``, migration 0024), which the index reads lazily, instead of collecting every
  posting of a common prefix first;
- PostgreSQL (migration 0024) narrows a phrase by its adjacent word pairs before checking ``<->``,
  reads a query of filters only from a sort-key index carrying the facet columns, takes the page
  from the sample when the sample held every match, and walks the newest messages passing the
  filters for the page of a common text.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    TableClause,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from tilsvar.models import Brand, Channel, Identity, Message
from tilsvar.privacy import blind
from tilsvar.search.query import (
    FieldFilter,
    Node,
    Not,
    ParsedQuery,
    Phrase,
    QueryError,
    parse,
    parse_day,
    to_fts5,
    to_pairs,
    to_tsquery,
)
from tilsvar.search.snippets import Part, snippet_parts, to_html

Order = Literal["newest", "relevance"]
FACETS = ("platform", "brand", "language", "intent", "sentiment", "status")
MAX_LIMIT = 200
SAMPLE = 2_000  # facets and totals are exact up to this many matches, estimated from the newest beyond
SECOND = 1 << 32  # the sort key's unit: one second of created_at

_COLUMNS = (
    "sort_key",
    "message_id",
    "conversation_id",
    "brand_id",
    "channel_id",
    "language",
    "intent",
    "sentiment",
    "status",
    "has_pii",
)
_FACET_NAMES = ("channel_id", "brand_id", "language", "intent", "sentiment", "status")
# What a hit shows from its message (read for the page's messages only).
_DETAILS = (
    Message.external_id,
    Message.created_at,
    Message.direction,
    Message.author_name,
    func.coalesce(Message.redacted_text, Message.text),
)
_FTS_SQLITE = table("search_messages", column("rowid"))
_FACETS_SQLITE = table("search_facets", *(column(name) for name in _COLUMNS))
_FACETS_POSTGRESQL = table(
    "search_messages", *(column(name) for name in _COLUMNS), column("document"), column("pairs")
)


def sort_key(created_at: datetime, message_id: int = 0) -> int:
    """The index's key of a message: newest first to the second, then by id (migration 0011)."""
    instant = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return math.floor(instant.timestamp()) * SECOND + message_id


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Hit:
    message_id: int
    conversation_id: int
    external_id: str | None
    platform: str
    account: str
    channel_name: str
    brand_id: int
    brand_name: str
    created_at: datetime
    direction: str
    author: str
    language: str | None
    intent: str | None
    sentiment: str | None
    status: str
    has_pii: bool
    parts: list[Part]

    @property
    def snippet(self) -> str:
        """The snippet as HTML: escaped text with ``<mark>`` around matches."""
        return to_html(self.parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "external_id": self.external_id,
            "platform": self.platform,
            "account": self.account,
            "created_at": self.created_at.isoformat(),
            "snippet": self.snippet,
            "snippet_parts": [{"text": text, "match": is_match} for text, is_match in self.parts],
            "brand": {"id": self.brand_id, "name": self.brand_name},
            "channel_name": self.channel_name,
            "direction": self.direction,
            "author": self.author,
            "language": self.language,
            "intent": self.intent,
            "sentiment": self.sentiment,
            "status": self.status,
            "has_pii": self.has_pii,
        }


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    next_cursor: str | None = None
    # More than SAMPLE matches: the facet counts are the shares of the newest ``counted`` matches
    # scaled to ``total``, and ``total`` itself is an estimate when filters had to be applied too.
    total_is_estimate: bool = False
    facets_are_estimates: bool = False
    counted: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "total_is_estimate": self.total_is_estimate,
            "facets_are_estimates": self.facets_are_estimates,
            "counted": self.counted,
            "results": [hit.as_json() for hit in self.hits],
            "facets": {
                name: [{"value": item.value, "label": item.label, "count": item.count} for item in values]
                for name, values in self.facets.items()
            },
            "next_cursor": self.next_cursor,
        }


@dataclass(frozen=True, slots=True)
class _Brand:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class _Channel:
    id: int
    brand_id: int
    platform: str
    account: str
    account_key: str
    name: str


@dataclass(slots=True)
class _Scope:
    """What the filters resolved to, plus the brands and channels the caller may see."""

    channels: dict[int, _Channel]
    brands: dict[int, _Brand]
    conditions: list[ColumnElement[bool]]  # on the facet rows
    ranges: list[ColumnElement[bool]]  # from: and to:, on the index key


@dataclass(slots=True)
class _Plan:
    """How to read one search: the facet table, the FROM of text matches, the key to order by."""

    facets: TableClause
    source: FromClause
    key: Any
    match: ColumnElement[bool] | None
    rank: Any
    text_only: FromClause | None  # the FROM of the full-text index alone (to count its matches)
    text_key: Any


def search(
    session: Session,
    *,
    brand_ids: Sequence[int],
    query: str | ParsedQuery,
    limit: int = 20,
    cursor: str | None = None,
    order: Order = "newest",
    facets: bool = True,
) -> SearchResult:
    """Messages matching ``query`` in the brands ``brand_ids`` (the caller's, from ``access``).

    Raises :class:`QueryError` for a query or cursor that cannot be run."""
    parsed = parse(query) if isinstance(query, str) else query
    limit = max(1, min(limit, MAX_LIMIT))
    plan = _plan(session, parsed)
    scope = _scope(session, brand_ids, parsed, plan)
    f = plan.facets
    conditions = [*scope.conditions, *scope.ranges, *([plan.match] if plan.match is not None else [])]

    relevance = order == "relevance" and plan.rank is not None
    below = _decode_key(cursor) if cursor and not relevance else None
    counts = _Counts(0, 0, False, False, {})
    if facets:
        counts = _count(session, plan, scope, None if relevance else _PageWanted(limit + 1, below))

    page = select(
        plan.key,
        f.c.message_id,
        f.c.conversation_id,
        f.c.channel_id,
        f.c.brand_id,
        f.c.language,
        f.c.intent,
        f.c.sentiment,
        f.c.status,
        f.c.has_pii,
    ).select_from(plan.source)
    offset = 0
    if relevance:
        offset = _decode_offset(cursor) if cursor else 0
        page = page.where(*conditions).order_by(plan.rank, plan.key.desc()).offset(offset)
    elif counts.page_keys is not None:
        # The sample held every match: its newest keys are the page (no second full-text scan).
        page = page.where(plan.key.in_(counts.page_keys)).order_by(plan.key.desc())
    elif counts.text_is_common and plan.match is not None:
        # A common text (PostgreSQL): walk the newest messages passing the filters on the covering
        # index alone, and read the document only of those, until the page is full (rather than
        # let the planner, whose estimate of a text's matches can be far too low, read every match).
        passing = f.alias("passing")
        adapter = ClauseAdapter(passing)
        newest = (
            select(passing.c.sort_key.label("key"))
            .where(*(adapter.traverse(condition) for condition in [*scope.conditions, *scope.ranges]))
            .order_by(passing.c.sort_key.desc())
        )
        if below is not None:
            newest = newest.where(passing.c.sort_key < below)
        keys = newest.offset(0).subquery("newest")  # OFFSET 0: planned on its own, not merged
        # LATERAL … LIMIT 1: a nested loop, one message per key, in the walk's order.
        hit = page.where(plan.key == keys.c.key, plan.match).limit(1).lateral("hit")
        page = select(*hit.c).select_from(keys.join(hit, true())).order_by(keys.c.key.desc())
    else:
        if below is not None:
            conditions.append(plan.key < below)
        page = page.where(*conditions).order_by(plan.key.desc())
    page = page.limit(limit + 1)
    rows: list[tuple[Any, ...]]
    if relevance:
        rows = [tuple(row) for row in session.execute(page)]
        details = {
            row[0]: row[1:]
            for row in session.execute(
                select(Message.id, *_DETAILS).where(Message.id.in_([row[1] for row in rows]))
            )
        }
        rows = [(*row, *details[row[1]]) for row in rows]
    else:
        # Newest first: the page and the text of its messages in one statement.
        inner = page.subquery()
        rows = [
            tuple(row)
            for row in session.execute(
                select(*inner.c, *_DETAILS)
                .select_from(inner.join(Message, Message.id == inner.c.message_id))
                .order_by(inner.c[0].desc())
            )
        ]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode({"o": offset + limit}) if relevance else _encode({"k": rows[-1][0]})
    hits = []
    for row in rows:
        channel = scope.channels[row[3]]
        brand = scope.brands[row[4]]
        external_id, created_at, direction, author, text = row[10:]
        hits.append(
            Hit(
                message_id=row[1],
                conversation_id=row[2],
                external_id=external_id,
                platform=channel.platform,
                account=channel.account,
                channel_name=channel.name,
                brand_id=brand.id,
                brand_name=brand.name,
                created_at=created_at,
                direction=direction,
                author=author,
                language=row[5],
                intent=row[6],
                sentiment=row[7],
                status=row[8],
                has_pii=bool(row[9]),
                parts=snippet_parts(text or "", parsed.highlights),
            )
        )
    if not cursor:
        # A sample that happened to hold few of the filtered matches must not claim fewer than shown.
        counts.total = max(counts.total, len(hits) + (1 if next_cursor else 0))
    return SearchResult(
        total=counts.total if facets else len(hits),
        hits=hits,
        facets=counts.facets,
        next_cursor=next_cursor,
        total_is_estimate=counts.total_is_estimate,
        facets_are_estimates=counts.facets_are_estimates,
        counted=counts.counted,
    )


def conversation_ids(session: Session, *, brand_ids: Sequence[int], query: str | ParsedQuery) -> Select[Any]:
    """A subquery of the ids of conversations with a message matching ``query`` (for inbox views)."""
    parsed = parse(query) if isinstance(query, str) else query
    plan = _plan(session, parsed)
    scope = _scope(session, brand_ids, parsed, plan)
    statement = select(plan.facets.c.conversation_id).select_from(plan.source)
    return statement.where(
        *scope.conditions, *scope.ranges, *([plan.match] if plan.match is not None else [])
    )


def _plan(session: Session, parsed: ParsedQuery) -> _Plan:
    if session.get_bind().dialect.name == "sqlite":
        f = _FACETS_SQLITE
        if parsed.text is None:
            return _Plan(f, f, f.c.sort_key, None, None, None, None)
        fts = _FTS_SQLITE
        expression = to_fts5(parsed.text, _vocabulary(session))
        match = literal_column("search_messages").op("MATCH")(bindparam("search_fts", expression))
        return _Plan(
            f,
            fts.join(f, f.c.sort_key == fts.c.rowid),
            fts.c.rowid,
            match,
            literal_column("search_messages.rank"),
            fts,
            fts.c.rowid,
        )
    f = _FACETS_POSTGRESQL
    if parsed.text is None:
        return _Plan(f, f, f.c.sort_key, None, None, None, None)
    words = _words_postgresql(session, _prefixes(parsed.text))
    tsquery = func.to_tsquery(
        literal_column("'simple'::regconfig"),
        bindparam("search_tsquery", to_tsquery(parsed.text, words.get)),
    )
    document = f.c.document
    condition: ColumnElement[bool] = document.op("@@")(tsquery)
    pairs = to_pairs(parsed.text)
    if pairs is not None:
        # A phrase: its adjacent word pairs (migration 0024) narrow the messages to recheck. When
        # the query is phrases only, the pairs alone choose the candidates (the function form of @@
        # keeps PostgreSQL from also intersecting the postings of every word, "is" or "er" included).
        if _phrases_only(parsed.text):
            condition = func.ts_match_vq(document, tsquery)
        condition = and_(f.c.pairs.op("@@")(cast(bindparam("search_pairs", pairs), TSQUERY)), condition)
    return _Plan(
        f,
        f,
        f.c.sort_key,
        condition,
        func.ts_rank(document, tsquery).desc(),
        f,
        f.c.sort_key,
    )


@dataclass(slots=True)
class _Counts:
    total: int
    counted: int
    total_is_estimate: bool
    facets_are_estimates: bool
    facets: dict[str, list[FacetValue]]
    # The keys of the page (newest first), when counting found that the sample held every match.
    page_keys: list[int] | None = None
    # PostgreSQL: the text matches a good share of all messages (its page had best walk the filters).
    text_is_common: bool = False


@dataclass(frozen=True, slots=True)
class _PageWanted:
    """The newest-first page the search will show: this many keys, below ``below`` (a cursor)."""

    size: int
    below: int | None


MAX_EXPANSION = 50  # a prefix covering more indexed words than this stays a prefix


def _vocabulary(session: Session) -> Callable[[str], list[str] | None]:
    """The indexed words starting with a prefix, from FTS5's own term list (``fts5vocab``, a
    connection-local table: it stores nothing, and the index's term b-tree answers a range cheaply)."""
    connection = session.connection()
    connection.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary "
        "USING fts5vocab(main, 'search_messages', 'row')"
    )

    def expand(prefix: str) -> list[str] | None:
        terms = [
            str(row[0]).replace('"', '""')
            for row in connection.exec_driver_sql(
                "SELECT term FROM temp.search_vocabulary WHERE term >= ? AND term < ? LIMIT ?",
                (prefix, prefix + "\U0010ffff", MAX_EXPANSION + 1),
            )
        ]
        return terms if len(terms) <= MAX_EXPANSION else None

    return expand


def _phrases_only(node: Node) -> bool:
    """Whether every word ``node`` looks for is in a phrase its pairs narrow (NOT terms aside)."""
    if isinstance(node, Phrase):
        return to_pairs(node) is not None
    if isinstance(node, Not):
        return True
    return all(_phrases_only(item) for item in node.items) and not all(
        isinstance(item, Not) for item in node.items
    )


def _prefixes(node: Node) -> list[str]:
    """The words of ``node`` matched as prefixes."""
    if isinstance(node, Phrase):
        return [node.tokens[0]] if node.prefix and len(node.tokens) == 1 else []
    if isinstance(node, Not):
        return _prefixes(node.item)
    return [prefix for item in node.items for prefix in _prefixes(item)]


def _words_postgresql(session: Session, prefixes: list[str]) -> dict[str, list[str] | None]:
    """The indexed words each prefix covers, from ``search_words`` (migration 0024), in one statement;
    ``None`` for a prefix covering more than :data:`MAX_EXPANSION` words or any word not of plain
    ASCII letters and digits (which ``to_tsquery`` might not read back as the same lexeme)."""
    if not prefixes:
        return {}
    found: dict[str, list[str] | None] = {}
    for prefix, words in session.execute(
        sql_text(
            "SELECT prefix, ARRAY(SELECT word FROM search_words WHERE word >= prefix "
            "AND word < prefix || chr(1114111) AND starts_with(word, prefix) ORDER BY word "
            "LIMIT :most) FROM unnest(CAST(:prefixes AS text[])) AS prefix"
        ),
        {"prefixes": sorted(set(prefixes)), "most": MAX_EXPANSION + 1},
    ):
        plain = all(_PLAIN_WORD.fullmatch(word) for word in words)
        found[prefix] = list(words) if plain and len(words) <= MAX_EXPANSION else None
    return found


_PLAIN_WORD = re.compile(r"[a-z0-9]+")


def _count(session: Session, plan: _Plan, scope: _Scope, page: _PageWanted | None = None) -> _Counts:
    """The total, how many matches were counted, whether the total and the facets are estimates, and
    the facets.

    Facets are counted over the newest :data:`SAMPLE` matches of the text (or, for a query of
    filters only, the newest :data:`SAMPLE` messages passing them); beyond that, scaled."""
    f = plan.facets
    facet_columns = (f.c.channel_id, f.c.brand_id, f.c.language, f.c.intent, f.c.sentiment, f.c.status)
    if plan.match is not None and plan.text_only is not None:
        # Dates are ranges of the index key: the index itself reads only that range.
        text = [plan.match, *scope.ranges]
        if plan.text_only is f:
            return _count_postgresql(session, plan, scope, text, page)
        keys = (
            select(plan.text_key.label("k"))
            .select_from(plan.text_only)
            .where(*text)
            .order_by(plan.text_key.desc())
            .limit(SAMPLE)
            .subquery()
        )
        sample = (
            select(*facet_columns)
            .select_from(keys.join(f, f.c.sort_key == keys.c.k))
            .where(*scope.conditions)
        )
        passed, counts = _group(session, sample)
        if not scope.conditions and passed < SAMPLE:
            text_matches = passed  # every match was counted
        else:
            # How many text matches there are, whatever the other filters (the index alone answers).
            text_matches = int(
                session.execute(select(func.count()).select_from(plan.text_only).where(*text)).scalar_one()
            )
        scanned = min(text_matches, SAMPLE)
        capped = text_matches > scanned
        if not capped:
            total, estimate = passed, False
        elif not scope.conditions:
            total, estimate = text_matches, False
        else:
            total, estimate = round(passed * text_matches / scanned), True
    elif plan.facets is _FACETS_POSTGRESQL:
        return _count_filters_postgresql(session, plan, scope)
    else:
        statement = (
            select(*facet_columns)
            .select_from(plan.source)
            .where(*scope.conditions, *scope.ranges)
            .order_by(plan.key.desc())
            .limit(SAMPLE + 1)
        )
        passed, counts = _group(session, statement)
        capped = estimate = passed > SAMPLE
        total = passed
        if capped:
            # The sample is the newest SAMPLE passing messages; scale by how many messages it spans.
            passed = SAMPLE
            oldest = session.execute(
                select(plan.key)
                .where(*scope.conditions, *scope.ranges)
                .order_by(plan.key.desc())
                .offset(SAMPLE - 1)
                .limit(1)
            ).scalar_one()
            spanned = session.execute(
                select(func.count()).select_from(f).where(plan.key >= oldest, *scope.ranges)
            ).scalar_one()
            everything = session.execute(
                select(func.count()).select_from(f).where(*scope.ranges)
            ).scalar_one()
            total = max(passed, round(passed * int(everything) / max(1, int(spanned))))
    scale = total / passed if capped and passed else 1.0
    return _Counts(total, passed, estimate, capped, _facet_values(counts, scope, scale))


SAMPLE_POSTGRESQL = 2_000
WALK_PAGES = 5_000  # a newest-first walk for a page of a common text covers at most this many pages
SMALL_TABLE_PAGES = 1_000  # below this many pages PostgreSQL counts matches exactly


def _count_postgresql(
    session: Session,
    plan: _Plan,
    scope: _Scope,
    text: list[ColumnElement[bool]],
    page: _PageWanted | None = None,
) -> _Counts:
    """PostgreSQL: GIN yields matches in storage order only, so the newest N would cost reading every
    match. The sample is the first :data:`SAMPLE_POSTGRESQL` matches in storage order (a scan that
    stops there); beyond it the number of text matches is estimated from how far into the table the
    sample reached (its last page of all pages), and everything counted is marked as an estimate.

    When the sample holds every match (fewer than :data:`SAMPLE_POSTGRESQL`), the same statement also
    answers the keys of the newest ``page`` passing the filters, so the page costs no second scan."""
    f = plan.facets
    # A sequential scan (which the planner may choose for a common text) must start at the table's
    # first page, not where the last one stopped (synchronized scans), for the page estimate to hold.
    session.execute(sql_text("SET LOCAL synchronize_seqscans = off"))
    block: ColumnElement[Any] = literal_column("(search_messages.ctid::text::point)[0]").label("block")
    first = select(f, block).where(*text).limit(SAMPLE_POSTGRESQL).subquery()
    adapter = ClauseAdapter(first)
    passing = [adapter.traverse(condition) for condition in scope.conditions]
    rows = (
        select(
            *(first.c[name] for name in _FACET_NAMES),
            first.c.block,
            first.c.sort_key,
            (and_(*passing) if passing else true()).label("passed"),
        )
        .cte("sample")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        select(literal(index), cast(rows.c[index], String), func.count())
        .where(rows.c.passed)
        .group_by(rows.c[index])
        for index in range(len(_FACET_NAMES))
    ]
    pages: ColumnElement[Any] = literal_column(
        "pg_relation_size('search_messages') / current_setting('block_size')::bigint"
    )
    parts.append(select(literal(-1), cast(func.max(rows.c.block), String), func.count()))
    parts.append(select(literal(-2), cast(pages, String), literal(0)))
    if page is not None:
        newest = select(literal(-3), cast(rows.c.sort_key, String), literal(0)).where(rows.c.passed)
        if page.below is not None:
            newest = newest.where(rows.c.sort_key < page.below)
        parts.append(newest.order_by(rows.c.sort_key.desc()).limit(page.size))
    counts: dict[str, Counter[Any]] = {name: Counter() for name in _FACET_NAMES}
    scanned, last_block, all_pages = 0, 0.0, 1.0
    keys: list[int] = []
    for index, value, count in session.execute(union_all(*parts)):
        if index == -1:
            scanned, last_block = int(count), float(value or 0)
        elif index == -2:
            all_pages = float(value or 1)
        elif index == -3:
            keys.append(int(value))
        else:
            counts[_FACET_NAMES[index]][value] += count
    passed = sum(counts["channel_id"].values())
    capped = scanned >= SAMPLE_POSTGRESQL
    total, estimate = passed, False
    if capped and all_pages <= SMALL_TABLE_PAGES:
        # A small table: counting is cheap, and a page-based estimate would be coarse.
        text_matches = int(session.execute(select(func.count()).select_from(f).where(*text)).scalar_one())
        total, estimate = (text_matches, False) if not scope.conditions else (0, True)
    elif capped:
        text_matches = max(scanned, round(scanned * max(all_pages, last_block + 1) / (last_block + 1)))
        estimate = True
    if estimate:
        total = round(passed * text_matches / scanned)
    scale = total / passed if capped and passed else 1.0
    page_keys = None if capped or page is None else sorted(keys, reverse=True)
    # The sample's SAMPLE_POSTGRESQL matches came from at most half the table, so the text is in
    # enough messages that walking the newest ones passing the filters soon finds a page of matches
    # (otherwise PostgreSQL's planner chooses how to read the page).
    # And the filters pass enough of those for the walk to find the page within WALK_PAGES pages'
    # worth of messages (the sample's density of passing matches: passed in last_block + 1 pages).
    walk = page.size * (last_block + 1) / passed if page is not None and passed else math.inf
    common = capped and (last_block + 1) * 2 <= all_pages and walk <= WALK_PAGES
    return _Counts(total, passed, estimate, capped, _facet_values(counts, scope, scale), page_keys, common)


def _count_filters_postgresql(session: Session, plan: _Plan, scope: _Scope) -> _Counts:
    """PostgreSQL, a query of filters only: the sample is the newest :data:`SAMPLE` messages passing
    them, read newest first from the covering sort-key index (migration 0024: an index-only walk
    that evaluates the filters on the index), counted in the same statement that finds the oldest key
    it reached. Beyond the sample the total is scaled by all messages (within ``from:``/``to:``) over
    the messages that span holds: the span counted on the index up to :data:`SPAN_COUNTED`, beyond
    that and for all messages PostgreSQL's planner's estimates (:func:`_planned_rows`); both counted
    on a table of at most :data:`SMALL_TABLE_PAGES` pages."""
    f = plan.facets
    rows = (
        select(*(f.c[name] for name in _FACET_NAMES), f.c.sort_key)
        .where(*scope.conditions, *scope.ranges)
        .order_by(f.c.sort_key.desc())
        .limit(SAMPLE + 1)
        .cte("sample")
        .prefix_with("MATERIALIZED")
    )
    # Facets over the newest SAMPLE; the one more only tells that there are more.
    counted = select(rows).order_by(rows.c.sort_key.desc()).limit(SAMPLE).cte("counted")
    parts = [
        select(literal(index), cast(counted.c[index], String), func.count()).group_by(counted.c[index])
        for index in range(len(_FACET_NAMES))
    ]
    parts.append(
        select(
            literal(-1),
            cast(select(func.min(counted.c.sort_key)).scalar_subquery(), String),
            func.count(),
        ).select_from(rows)
    )
    counts: dict[str, Counter[Any]] = {name: Counter() for name in _FACET_NAMES}
    found, oldest = 0, 0
    for index, value, count in session.execute(union_all(*parts)):
        if index == -1:
            found, oldest = int(count), int(value or 0)
        else:
            counts[_FACET_NAMES[index]][value] += count
    if found <= SAMPLE:
        return _Counts(found, found, False, False, _facet_values(counts, scope, 1.0))
    passed = SAMPLE
    # How many messages the sample's span holds: counted on the index up to SPAN_COUNTED, else the
    # planner's estimate from the sort key's histogram (the span of a rare filter can be most of the
    # table, and counting it would cost more than the whole search may).
    span = [f.c.sort_key >= oldest, *scope.ranges]
    newer = select(f.c.sort_key).where(*span).limit(SPAN_COUNTED + 1).subquery()
    spanned = int(session.execute(select(func.count()).select_from(newer)).scalar_one())
    small = _pages(session) <= SMALL_TABLE_PAGES
    if spanned > SPAN_COUNTED and not small:
        spanned = max(spanned, _planned_rows(session, span))
    if small:
        counting = select(func.count()).select_from(f).where(*scope.ranges)
        everything = int(session.execute(counting).scalar_one())
    else:
        everything = max(spanned, _planned_rows(session, scope.ranges))
    total = max(passed, round(passed * everything / max(1, spanned)))
    return _Counts(total, passed, True, True, _facet_values(counts, scope, total / passed))


SPAN_COUNTED = 20_000  # a filter-only sample's span is counted up to this many messages, else estimated


def _pages(session: Session) -> int:
    return int(
        session.execute(
            sql_text("SELECT pg_relation_size('search_messages') / current_setting('block_size')::bigint")
        ).scalar_one()
    )


def _planned_rows(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    """PostgreSQL's planner's estimate of the rows of ``search_messages`` meeting ``conditions``
    (conditions on the sort key only: integers, written into the statement): the table's rows from
    its statistics scaled to its current size, times the share the sort key's histogram gives."""
    statement: Select[Any] = select(literal_column("1")).select_from(_FACETS_POSTGRESQL).where(*conditions)
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled)).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def _group(session: Session, sample: Select[Any]) -> tuple[int, dict[str, Counter[Any]]]:
    """Count the rows of ``sample`` (its columns: :data:`_FACET_NAMES`) per value of each column, in
    the database: one materialised pass, six one-column GROUP BYs, a few dozen rows back."""
    rows = sample.cte("sample").prefix_with("MATERIALIZED")
    parts = [
        select(literal(index), cast(rows.c[index], String), func.count()).group_by(rows.c[index])
        for index in range(len(_FACET_NAMES))
    ]
    counts: dict[str, Counter[Any]] = {name: Counter() for name in _FACET_NAMES}
    for index, value, count in session.execute(union_all(*parts)):
        counts[_FACET_NAMES[index]][value] += count
    return sum(counts["channel_id"].values()), counts


def _facet_values(
    counts: dict[str, Counter[Any]], scope: _Scope, scale: float
) -> dict[str, list[FacetValue]]:
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for channel_id, count in counts["channel_id"].items():
        channel = scope.channels.get(int(channel_id))
        counters["platform"][channel.platform if channel else "?"] += count
    for facet, name in (("brand", "brand_id"), *((facet, facet) for facet in FACETS[2:])):
        for value, count in counts[name].items():
            counters[facet][value or ""] += count
    result: dict[str, list[FacetValue]] = {}
    for name, counter in counters.items():
        values = []
        for key, count in counter.most_common():
            value, label = key, key or "(none)"
            if name == "brand":
                brand = scope.brands.get(int(key))
                value, label = (brand.slug, brand.name) if brand else (key, key)
            values.append(FacetValue(value=value, label=label, count=round(count * scale)))
        result[name] = values
    return result


def _scope(session: Session, brand_ids: Sequence[int], parsed: ParsedQuery, plan: _Plan) -> _Scope:
    f = plan.facets
    brands: dict[int, _Brand] = {}
    channels: dict[int, _Channel] = {}
    all_brands = 0
    for row in session.execute(
        select(
            Brand.id,
            Brand.slug,
            Brand.name,
            Channel.id,
            Channel.platform,
            Channel.account,
            Channel.account_key,
            Channel.name,
            select(func.count()).select_from(Brand).scalar_subquery(),
        )
        .outerjoin(Channel, Channel.brand_id == Brand.id)
        .where(Brand.id.in_(brand_ids))
    ):
        brands[row[0]] = _Brand(row[0], row[1], row[2])
        if row[3] is not None:
            channels[row[3]] = _Channel(row[3], row[0], row[4], row[5], row[6], row[7])
        all_brands = row[8]
    everything = all_brands == len(brands)
    # Every brand there is: no condition needed (this keeps a search without filters exact for longer).
    conditions: list[ColumnElement[bool]] = [] if everything and brands else [f.c.brand_id.in_(list(brands))]
    ranges: list[ColumnElement[bool]] = []
    grouped: dict[tuple[str, bool], list[str]] = {}
    for item in parsed.filters:
        grouped.setdefault((item.name, item.negated), []).extend(item.values)
    for (name, negated), values in grouped.items():
        condition = _filter(FieldFilter(name, tuple(values)), brands, channels, f, plan.key)
        (ranges if name in ("from", "to") else conditions).append(not_(condition) if negated else condition)
    return _Scope(channels=channels, brands=brands, conditions=conditions, ranges=ranges)


def _filter(
    item: FieldFilter, brands: dict[int, _Brand], channels: dict[int, _Channel], f: TableClause, key: Any
) -> ColumnElement[bool]:
    """The condition of one field with its values (any of them), on the facet table ``f``; dates on
    ``key``, the sort key as the full-text index holds it (so the index only reads that time range)."""
    values = [value.lower() for value in item.values]
    if item.name == "channel":
        wanted = set(values) | {value.lstrip("@") for value in values}
        ids = [
            channel.id
            for channel in channels.values()
            if wanted
            & {
                channel.platform.lower(),
                channel.account.lower(),
                channel.account.lower().lstrip("@"),
                channel.account_key.lower(),
                channel.name.lower(),
            }
        ]
        return f.c.channel_id.in_(ids) if ids else false()
    if item.name == "brand":
        ids = [
            brand.id
            for brand in brands.values()
            if {brand.slug.lower(), brand.name.lower(), str(brand.id)} & set(values)
        ]
        return f.c.brand_id.in_(ids) if ids else false()
    if item.name == "lang":
        return f.c.language.in_(values)
    if item.name == "intent":
        return f.c.intent.in_(values)
    if item.name == "sentiment":
        return f.c.sentiment.in_(values)
    if item.name == "status":
        return f.c.status.in_(values)
    if item.name == "from":
        return or_(*(key >= sort_key(parse_day(value, end=False)) for value in values))
    if item.name == "to":
        return or_(*(key < sort_key(parse_day(value, end=True)) for value in values))
    if item.name == "has":
        unknown = [value for value in values if value != "pii"]
        if unknown:
            raise QueryError(f"has: knows only pii, not {unknown[0]!r}")
        return f.c.has_pii == true()
    if item.name == "author":
        handles = set(values) | {"@" + value.lstrip("@") for value in values}
        identities = select(Identity.id).where(
            or_(
                func.lower(Identity.handle).in_(handles),
                Identity.external_id.in_(item.values),
                # e-mail identities are found by the blind index of the address (privacy/blind.py)
                Identity.external_id.in_(
                    [
                        key
                        for platform in sorted(blind.SEALED_PLATFORMS)
                        for key in blind.lookup_ids(platform, [v for v in item.values if "@" in v])
                    ]
                ),
            )
        )
        authored = select(Message.id).where(
            or_(func.lower(Message.author_name).in_(values), Message.author_identity_id.in_(identities))
        )
        return f.c.message_id.in_(authored)
    raise QueryError(f"unknown field {item.name}:")


def _encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as error:
        raise QueryError("invalid cursor") from error
    if not isinstance(value, dict):
        raise QueryError("invalid cursor")
    return value


def _decode_key(cursor: str) -> int:
    """The sort key to continue below; also reads the older ``{"t": instant, "i": id}`` cursors."""
    value = _decode(cursor)
    try:
        if "k" in value:
            return int(value["k"])
        return sort_key(datetime.fromisoformat(value["t"]), int(value["i"]))
    except (KeyError, TypeError, ValueError) as error:
        raise QueryError("invalid cursor") from error


def _decode_offset(cursor: str) -> int:
    value = _decode(cursor)
    try:
        return max(0, int(value["o"]))
    except (KeyError, TypeError, ValueError) as error:
        raise QueryError("invalid cursor") from error
