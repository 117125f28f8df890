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
- facets and the total are counted over at most :data:`SAMPLE` matches, the newest. A search with
  more matches than that reports an estimate (``total_is_estimate``): the total is the number of
  text matches times the share of the sample that passes the filters, and each facet count is its
  share of the sample scaled to that total.
"""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    TableClause,
    bindparam,
    column,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from tilsvar.models import Brand, Channel, Identity, Message
from tilsvar.search.query import FieldFilter, ParsedQuery, QueryError, parse, parse_day, to_fts5, to_tsquery
from tilsvar.search.snippets import Part, snippet_parts, to_html

Order = Literal["newest", "relevance"]
FACETS = ("platform", "brand", "language", "intent", "sentiment", "status")
MAX_LIMIT = 200
SAMPLE = 5_000  # facets and totals are exact up to this many matches, estimated from the newest beyond
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
_FTS_SQLITE = table("search_messages", column("rowid"))
_FACETS_SQLITE = table("search_facets", *(column(name) for name in _COLUMNS))
_FACETS_POSTGRESQL = table("search_messages", *(column(name) for name in _COLUMNS), column("document"))


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


@dataclass(slots=True)
class _Scope:
    """What the filters resolved to, plus the brands and channels the caller may see."""

    channels: dict[int, Channel]
    brands: dict[int, Brand]
    conditions: list[ColumnElement[bool]]


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
    scope = _scope(session, brand_ids, parsed, plan.facets)
    f = plan.facets
    conditions = [*scope.conditions, *([plan.match] if plan.match is not None else [])]

    counts = _Counts(0, 0, False, False, {})
    if facets:
        counts = _count(session, plan, scope)

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
    relevance = order == "relevance" and plan.rank is not None
    if relevance:
        offset = _decode_offset(cursor) if cursor else 0
        page = page.where(*conditions).order_by(plan.rank, plan.key.desc()).offset(offset)
    else:
        if cursor:
            conditions.append(plan.key < _decode_key(cursor))
        page = page.where(*conditions).order_by(plan.key.desc())
    rows = session.execute(page.limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode({"o": offset + limit}) if relevance else _encode({"k": rows[-1][0]})
    details = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Message.id,
                Message.external_id,
                Message.created_at,
                Message.direction,
                Message.author_name,
                func.coalesce(Message.redacted_text, Message.text),
            ).where(Message.id.in_([row[1] for row in rows]))
        )
    }
    hits = []
    for row in rows:
        channel = scope.channels[row[3]]
        brand = scope.brands[row[4]]
        external_id, created_at, direction, author, text = details[row[1]]
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
    scope = _scope(session, brand_ids, parsed, plan.facets)
    statement = select(plan.facets.c.conversation_id).select_from(plan.source)
    return statement.where(*scope.conditions, *([plan.match] if plan.match is not None else []))


def _plan(session: Session, parsed: ParsedQuery) -> _Plan:
    if session.get_bind().dialect.name == "sqlite":
        f = _FACETS_SQLITE
        if parsed.text is None:
            return _Plan(f, f, f.c.sort_key, None, None, None, None)
        fts = _FTS_SQLITE
        match = literal_column("search_messages").op("MATCH")(bindparam("search_fts", to_fts5(parsed.text)))
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
    tsquery = func.to_tsquery(
        literal_column("'simple'::regconfig"), bindparam("search_tsquery", to_tsquery(parsed.text))
    )
    document = f.c.document
    return _Plan(
        f,
        f,
        f.c.sort_key,
        document.op("@@")(tsquery),
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


def _count(session: Session, plan: _Plan, scope: _Scope) -> _Counts:
    """The total, how many matches were counted, whether the total and the facets are estimates, and
    the facets.

    Facets are counted over the newest :data:`SAMPLE` matches of the text (or, for a query of
    filters only, the newest :data:`SAMPLE` messages passing them); beyond that, scaled."""
    f = plan.facets
    facet_columns = (f.c.channel_id, f.c.brand_id, f.c.language, f.c.intent, f.c.sentiment, f.c.status)
    if plan.match is not None and plan.text_only is not None:
        if plan.text_only is f:
            # PostgreSQL: the facet columns are in the full-text table itself.
            newest = select(f).where(plan.match).order_by(f.c.sort_key.desc()).limit(SAMPLE).subquery()
            adapter = ClauseAdapter(newest)
            sample = select(*(newest.c[name] for name in _FACET_NAMES)).where(
                *(adapter.traverse(condition) for condition in scope.conditions)
            )
        else:
            keys = (
                select(plan.text_key.label("k"))
                .select_from(plan.text_only)
                .where(plan.match)
                .order_by(plan.text_key.desc())
                .limit(SAMPLE)
                .subquery()
            )
            sample = (
                select(*facet_columns)
                .select_from(keys.join(f, f.c.sort_key == keys.c.k))
                .where(*scope.conditions)
            )
        groups: Counter[Any] = Counter(session.execute(sample).all())
        passed = sum(groups.values())
        if not scope.conditions and passed < SAMPLE:
            text_matches = passed  # every match was counted
        else:
            # How many text matches there are, whatever the filters (the index alone answers).
            text_matches = int(
                session.execute(
                    select(func.count()).select_from(plan.text_only).where(plan.match)
                ).scalar_one()
            )
        scanned = min(text_matches, SAMPLE)
        capped = text_matches > scanned
        if not capped:
            total, estimate = passed, False
        elif not scope.conditions:
            total, estimate = text_matches, False
        else:
            total, estimate = round(passed * text_matches / scanned), True
    else:
        statement = (
            select(plan.key, *facet_columns)
            .select_from(plan.source)
            .where(*scope.conditions)
            .order_by(plan.key.desc())
            .limit(SAMPLE + 1)
        )
        rows = session.execute(statement).all()
        capped = estimate = len(rows) > SAMPLE
        rows = rows[:SAMPLE]
        groups = Counter(tuple(row[1:]) for row in rows)
        passed = len(rows)
        total = passed
        if capped:
            # The sample is the newest SAMPLE passing messages; scale by how many messages it spans.
            oldest = rows[-1][0]
            spanned = session.execute(
                select(func.count()).select_from(f).where(plan.key >= oldest)
            ).scalar_one()
            everything = session.execute(select(func.count()).select_from(f)).scalar_one()
            total = max(passed, round(passed * int(everything) / max(1, int(spanned))))
    scale = total / passed if capped and passed else 1.0
    return _Counts(total, passed, estimate, capped, _facet_values(groups, scope, scale))


def _facet_values(
    groups: Counter[Any], scope: _Scope, scale: float
) -> dict[str, list[FacetValue]]:
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for (channel_id, brand_id, language, intent, sentiment, status), count in groups.items():
        channel = scope.channels.get(channel_id)
        counters["platform"][channel.platform if channel else "?"] += count
        counters["brand"][str(brand_id)] += count
        counters["language"][language or ""] += count
        counters["intent"][intent or ""] += count
        counters["sentiment"][sentiment or ""] += count
        counters["status"][status] += count
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


def _scope(session: Session, brand_ids: Sequence[int], parsed: ParsedQuery, f: TableClause) -> _Scope:
    brands = {brand.id: brand for brand in session.scalars(select(Brand).where(Brand.id.in_(brand_ids)))}
    channels = {
        channel.id: channel
        for channel in session.scalars(select(Channel).where(Channel.brand_id.in_(list(brands))))
    }
    everything = session.execute(select(func.count()).select_from(Brand)).scalar_one() == len(brands)
    # Every brand there is: no condition needed (this keeps a search without filters exact for longer).
    conditions: list[ColumnElement[bool]] = [] if everything and brands else [f.c.brand_id.in_(list(brands))]
    grouped: dict[tuple[str, bool], list[str]] = {}
    for item in parsed.filters:
        grouped.setdefault((item.name, item.negated), []).extend(item.values)
    for (name, negated), values in grouped.items():
        condition = _filter(FieldFilter(name, tuple(values)), brands, channels, f)
        conditions.append(not_(condition) if negated else condition)
    return _Scope(channels=channels, brands=brands, conditions=conditions)


def _filter(
    item: FieldFilter, brands: dict[int, Brand], channels: dict[int, Channel], f: TableClause
) -> ColumnElement[bool]:
    """The condition of one field with its values (any of them), on the facet table ``f``."""
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
        return or_(*(f.c.sort_key >= sort_key(parse_day(value, end=False)) for value in values))
    if item.name == "to":
        return or_(*(f.c.sort_key < sort_key(parse_day(value, end=True)) for value in values))
    if item.name == "has":
        unknown = [value for value in values if value != "pii"]
        if unknown:
            raise QueryError(f"has: knows only pii, not {unknown[0]!r}")
        return f.c.has_pii == true()
    if item.name == "author":
        handles = set(values) | {"@" + value.lstrip("@") for value in values}
        identities = select(Identity.id).where(
            or_(func.lower(Identity.handle).in_(handles), Identity.external_id.in_(item.values))
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
