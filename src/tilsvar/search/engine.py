"""Run a search: one function over both full-text engines (SQLite FTS5, PostgreSQL tsvector), with
field filters, facets with counts, highlighted snippets and keyset paging, restricted to the brands
the caller may see. The API, the web page, the CLI and saved inbox views all call :func:`search`
or :func:`conversation_ids`, so they agree.

The index itself is kept by database triggers (migration 0006): nothing here writes.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
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

from tilsvar.models import Brand, Channel, Conversation, Identity, Message
from tilsvar.search.query import FieldFilter, ParsedQuery, QueryError, parse, parse_day, to_fts5, to_tsquery
from tilsvar.search.snippets import Part, snippet_parts, to_html

Order = Literal["newest", "relevance"]
FACETS = ("platform", "brand", "language", "intent", "sentiment", "status")
MAX_LIMIT = 200

_FTS_SQLITE = table("search_messages", column("rowid"))
_FTS_POSTGRESQL = table("search_messages", column("message_id"), column("document"))


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

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
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
    scope = _scope(session, brand_ids, parsed)
    source, message_id, match, rank = _source(session, parsed)
    conditions = [*scope.conditions, *([match] if match is not None else [])]

    def base(*columns: Any) -> Select[Any]:
        statement = select(*columns).select_from(source)
        if message_id is not None:
            statement = statement.join(Message, Message.id == message_id)
        return statement.join(Conversation, Conversation.id == Message.conversation_id).where(*conditions)

    total = 0
    facet_values: dict[str, list[FacetValue]] = {}
    if facets:
        total, facet_values = _facets(session, base, scope)
    page = base(
        Message.id,
        Message.conversation_id,
        Message.external_id,
        Message.channel_id,
        Conversation.brand_id,
        Message.created_at,
        Message.direction,
        Message.author_name,
        Message.language,
        Message.intent,
        Message.sentiment,
        Conversation.status,
        Message.has_pii,
        func.coalesce(Message.redacted_text, Message.text),
    )
    offset = 0
    if order == "relevance" and rank is not None:
        offset = _decode_offset(cursor) if cursor else 0
        page = page.order_by(rank, Message.created_at.desc(), Message.id.desc()).offset(offset)
    else:
        if cursor:
            after_at, after_id = _decode_keyset(cursor)
            page = page.where(
                or_(
                    Message.created_at < after_at,
                    and_(Message.created_at == after_at, Message.id < after_id),
                )
            )
        page = page.order_by(Message.created_at.desc(), Message.id.desc())
    rows = session.execute(page.limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = (
            _encode({"o": offset + limit})
            if order == "relevance" and rank is not None
            else _encode({"t": last[5].isoformat(), "i": last[0]})
        )
    hits = []
    for row in rows:
        channel = scope.channels[row[3]]
        brand = scope.brands[row[4]]
        hits.append(
            Hit(
                message_id=row[0],
                conversation_id=row[1],
                external_id=row[2],
                platform=channel.platform,
                account=channel.account,
                channel_name=channel.name,
                brand_id=brand.id,
                brand_name=brand.name,
                created_at=row[5],
                direction=row[6],
                author=row[7],
                language=row[8],
                intent=row[9],
                sentiment=row[10],
                status=row[11],
                has_pii=bool(row[12]),
                parts=snippet_parts(row[13] or "", parsed.highlights),
            )
        )
    if not facets:
        total = len(hits)
    return SearchResult(total=total, hits=hits, facets=facet_values, next_cursor=next_cursor)


def conversation_ids(session: Session, *, brand_ids: Sequence[int], query: str | ParsedQuery) -> Select[Any]:
    """A subquery of the ids of conversations with a message matching ``query`` (for inbox views)."""
    parsed = parse(query) if isinstance(query, str) else query
    scope = _scope(session, brand_ids, parsed)
    source, message_id, match, _rank = _source(session, parsed)
    statement = select(Message.conversation_id).select_from(source)
    if message_id is not None:
        statement = statement.join(Message, Message.id == message_id)
    statement = statement.join(Conversation, Conversation.id == Message.conversation_id)
    return statement.where(*scope.conditions, *([match] if match is not None else []))


def _source(session: Session, parsed: ParsedQuery) -> tuple[FromClause, Any, ColumnElement[bool] | None, Any]:
    """The FROM of a search, the column holding the message id, the full-text condition, the rank."""
    if parsed.text is None:
        return Message.__table__, None, None, None
    if session.get_bind().dialect.name == "sqlite":
        match = literal_column("search_messages").op("MATCH")(bindparam("search_fts", to_fts5(parsed.text)))
        return _FTS_SQLITE, _FTS_SQLITE.c.rowid, match, literal_column("search_messages.rank")
    tsquery = func.to_tsquery(
        literal_column("'simple'::regconfig"), bindparam("search_tsquery", to_tsquery(parsed.text))
    )
    document = _FTS_POSTGRESQL.c.document
    return (
        _FTS_POSTGRESQL,
        _FTS_POSTGRESQL.c.message_id,
        document.op("@@")(tsquery),
        func.ts_rank(document, tsquery).desc(),
    )


def _scope(session: Session, brand_ids: Sequence[int], parsed: ParsedQuery) -> _Scope:
    brands = {brand.id: brand for brand in session.scalars(select(Brand).where(Brand.id.in_(brand_ids)))}
    channels = {
        channel.id: channel
        for channel in session.scalars(select(Channel).where(Channel.brand_id.in_(list(brands))))
    }
    conditions: list[ColumnElement[bool]] = [Conversation.brand_id.in_(list(brands))]
    grouped: dict[tuple[str, bool], list[str]] = {}
    for item in parsed.filters:
        grouped.setdefault((item.name, item.negated), []).extend(item.values)
    for (name, negated), values in grouped.items():
        condition = _filter(session, FieldFilter(name, tuple(values)), brands, channels)
        conditions.append(not_(condition) if negated else condition)
    return _Scope(channels=channels, brands=brands, conditions=conditions)


def _filter(
    session: Session, item: FieldFilter, brands: dict[int, Brand], channels: dict[int, Channel]
) -> ColumnElement[bool]:
    """The condition of one field with its values (any of them)."""
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
        return Message.channel_id.in_(ids) if ids else false()
    if item.name == "brand":
        ids = [
            brand.id
            for brand in brands.values()
            if {brand.slug.lower(), brand.name.lower(), str(brand.id)} & set(values)
        ]
        return Conversation.brand_id.in_(ids) if ids else false()
    if item.name == "lang":
        return Message.language.in_(values)
    if item.name == "intent":
        return Message.intent.in_(values)
    if item.name == "sentiment":
        return Message.sentiment.in_(values)
    if item.name == "status":
        return Conversation.status.in_(values)
    if item.name == "from":
        return or_(*(Message.created_at >= parse_day(value, end=False) for value in values))
    if item.name == "to":
        return or_(*(Message.created_at < parse_day(value, end=True) for value in values))
    if item.name == "has":
        unknown = [value for value in values if value != "pii"]
        if unknown:
            raise QueryError(f"has: knows only pii, not {unknown[0]!r}")
        return Message.has_pii.is_(true())
    if item.name == "author":
        handles = set(values) | {"@" + value.lstrip("@") for value in values}
        identities = select(Identity.id).where(
            or_(func.lower(Identity.handle).in_(handles), Identity.external_id.in_(item.values))
        )
        return or_(func.lower(Message.author_name).in_(values), Message.author_identity_id.in_(identities))
    raise QueryError(f"unknown field {item.name}:")


def _facets(session: Session, base: Any, scope: _Scope) -> tuple[int, dict[str, list[FacetValue]]]:
    """The total and the counts per facet value, in one grouped pass over the matches."""
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    total = 0
    statement = base(
        Message.channel_id,
        Conversation.brand_id,
        Message.language,
        Message.intent,
        Message.sentiment,
        Conversation.status,
        func.count(),
    ).group_by(
        Message.channel_id,
        Conversation.brand_id,
        Message.language,
        Message.intent,
        Message.sentiment,
        Conversation.status,
    )
    for channel_id, brand_id, language, intent, sentiment, status, count in session.execute(statement):
        total += count
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
            values.append(FacetValue(value=value, label=label, count=count))
        result[name] = values
    return total, result


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


def _decode_keyset(cursor: str) -> tuple[datetime, int]:
    value = _decode(cursor)
    try:
        return datetime.fromisoformat(value["t"]), int(value["i"])
    except (KeyError, TypeError, ValueError) as error:
        raise QueryError("invalid cursor") from error


def _decode_offset(cursor: str) -> int:
    value = _decode(cursor)
    try:
        return max(0, int(value["o"]))
    except (KeyError, TypeError, ValueError) as error:
        raise QueryError("invalid cursor") from error
