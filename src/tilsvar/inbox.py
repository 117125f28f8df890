"""The inbox read model: list conversations (filtered, sorted, paged by keyset) and read one whole.

Used by the JSON API and the web UI alike, so both show the same thing. Rows are plain dataclasses;
customer text is never marked safe anywhere.
"""

from __future__ import annotations

import base64
import heapq
import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.models import Brand, Channel, Contact, Conversation, Identity, Message, User, utcnow

View = Literal["unanswered", "all", "open", "resolved"]
Sort = Literal["waiting", "newest_waiting", "recent"]


@dataclass(frozen=True, slots=True)
class InboxFilter:
    view: View = "unanswered"
    sort: Sort | None = None
    platform: str | None = None
    brand_id: int | None = None
    channel_id: int | None = None
    status: str | None = None

    @property
    def effective_sort(self) -> Sort:
        if self.sort:
            return self.sort
        return "waiting" if self.view == "unanswered" else "recent"


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: int
    brand_id: int
    brand_name: str
    channel_id: int
    platform: str
    account: str
    channel_name: str
    kind: str
    status: str
    customer: str
    preview: str
    message_count: int
    waiting_since: datetime | None
    last_message_at: datetime
    first_inbound_at: datetime | None
    first_response_at: datetime | None
    assignee_id: int | None

    def waiting_minutes(self, now: datetime | None = None) -> float | None:
        if self.waiting_since is None:
            return None
        return ((now or utcnow()) - self.waiting_since).total_seconds() / 60

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "brand": {"id": self.brand_id, "name": self.brand_name},
            "channel": {
                "id": self.channel_id,
                "platform": self.platform,
                "account": self.account,
                "name": self.channel_name,
            },
            "kind": self.kind,
            "status": self.status,
            "customer": self.customer,
            "preview": self.preview,
            "message_count": self.message_count,
            "waiting_since": _iso(self.waiting_since),
            "waiting_minutes": self.waiting_minutes(),
            "last_message_at": _iso(self.last_message_at),
            "first_inbound_at": _iso(self.first_inbound_at),
            "first_response_at": _iso(self.first_response_at),
            "assignee_id": self.assignee_id,
        }


@dataclass(slots=True)
class Page:
    rows: list[ConversationRow]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _columns() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Conversation.id,
            Conversation.brand_id,
            Brand.name,
            Conversation.channel_id,
            Channel.platform,
            Channel.account,
            Channel.name,
            Conversation.kind,
            Conversation.status,
            Contact.display_name,
            Conversation.preview,
            Conversation.message_count,
            Conversation.waiting_since,
            Conversation.last_message_at,
            Conversation.first_inbound_at,
            Conversation.first_response_at,
            Conversation.assignee_id,
        )
        .join(Channel, Channel.id == Conversation.channel_id)
        .join(Brand, Brand.id == Conversation.brand_id)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
    )


# Up to this many brands, a page is read brand by brand (each an ordered index range) and merged;
# beyond it, one query sorts the lot.
MERGE_BRANDS_UP_TO = 24


def list_conversations(
    session: Session, user: User, *, filters: InboxFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    """One page of the conversations ``user`` may see, matching ``filters``.

    First the page's ids: each brand's conversations are read in the page's order
    from the index on (brand, sort column, id), ``limit + 1`` at most, and the brands' runs are merged,
    so a page costs about ``limit`` index entries per brand however many conversations are waiting.
    Then one query reads those rows whole."""
    brand_ids = access.brand_ids(session, user)
    if filters.brand_id:
        brand_ids = [brand_id for brand_id in brand_ids if brand_id == filters.brand_id]
    sort = filters.effective_sort
    key_column = Conversation.last_message_at if sort == "recent" else Conversation.waiting_since
    descending = sort != "waiting"
    conditions = _conditions(filters, key_column=key_column, descending=descending, cursor=cursor)
    order = (
        (key_column.desc(), Conversation.id.desc())
        if descending
        else (key_column.asc(), Conversation.id.asc())
    )
    keys = select(key_column, Conversation.id).where(*conditions).order_by(*order)
    if filters.platform:
        keys = keys.join(Channel, Channel.id == Conversation.channel_id)
    if len(brand_ids) <= MERGE_BRANDS_UP_TO:
        runs = [
            [
                (value, row_id)
                for value, row_id in session.execute(
                    keys.where(Conversation.brand_id == brand_id).limit(limit + 1)
                )
            ]
            for brand_id in brand_ids
        ]
        page_keys = list(islice(heapq.merge(*runs, reverse=descending), limit + 1))
    else:
        page_keys = [
            (value, row_id)
            for value, row_id in session.execute(
                keys.where(Conversation.brand_id.in_(brand_ids)).limit(limit + 1)
            )
        ]
    next_cursor = None
    if len(page_keys) > limit:
        page_keys = page_keys[:limit]
        last_value, last_id = page_keys[-1]
        assert last_value is not None
        next_cursor = _encode_cursor(last_value, last_id)
    ids = [row_id for _, row_id in page_keys]
    by_id = {
        row.id: row
        for row in (
            ConversationRow(*values) for values in session.execute(_columns().where(Conversation.id.in_(ids)))
        )
    }
    return Page(rows=[by_id[row_id] for row_id in ids], next_cursor=next_cursor)


def _conditions(
    filters: InboxFilter, *, key_column: Any, descending: bool, cursor: str | None
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of an inbox page, apart from the brands."""
    conditions: list[ColumnElement[bool]] = [key_column.is_not(None)]
    if filters.view == "unanswered":
        conditions += [
            Conversation.waiting_since.is_not(None),
            Conversation.status.not_in(("resolved", "closed")),
        ]
    elif filters.view == "open":
        conditions.append(Conversation.status.not_in(("resolved", "closed")))
    elif filters.view == "resolved":
        conditions.append(Conversation.status.in_(("resolved", "closed")))
    if filters.platform:
        conditions.append(Channel.platform == filters.platform)
    if filters.channel_id:
        conditions.append(Conversation.channel_id == filters.channel_id)
    if filters.status:
        conditions.append(Conversation.status == filters.status)
    if cursor:
        after_value, after_id = _decode_cursor(cursor)
        if descending:
            conditions.append(
                or_(key_column < after_value, and_(key_column == after_value, Conversation.id < after_id))
            )
        else:
            conditions.append(
                or_(key_column > after_value, and_(key_column == after_value, Conversation.id > after_id))
            )
    return conditions


def _encode_cursor(value: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value.isoformat(), row_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(value), int(row_id)
    except (ValueError, TypeError) as error:
        raise ValueError("invalid cursor") from error


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    external_id: str | None
    direction: str
    kind: str
    author: str
    author_handle: str
    text: str
    created_at: datetime
    delivery_state: str
    delivery_error: str
    delivery_attempts: int
    is_automatic: bool
    language: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "direction": self.direction,
            "kind": self.kind,
            "author": self.author,
            "author_handle": self.author_handle,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "delivery": {
                "state": self.delivery_state,
                "error": self.delivery_error or None,
                "attempts": self.delivery_attempts,
            },
            "is_automatic": self.is_automatic,
            "language": self.language,
        }


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    row: ConversationRow
    thread_key: str
    messages: list[MessageView]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.row.as_json(),
            "thread_key": self.thread_key,
            "messages": [message.as_json() for message in self.messages],
        }


def read_conversation(session: Session, user: User, conversation_id: int) -> ConversationDetail:
    """The whole thread, oldest first (replies still queued last); raises ``access.NotFound``."""
    conversation = access.access_conversation(session, user, conversation_id)
    row = ConversationRow(*session.execute(_columns().where(Conversation.id == conversation.id)).one())
    messages = [
        MessageView(
            id=message_id,
            external_id=external_id,
            direction=direction,
            kind=kind,
            author=author_name,
            author_handle=handle or "",
            text=text,
            created_at=created_at,
            delivery_state=delivery_state,
            delivery_error=delivery_error,
            delivery_attempts=attempts,
            is_automatic=is_automatic,
            language=language,
        )
        for (
            message_id,
            external_id,
            direction,
            kind,
            author_name,
            handle,
            text,
            created_at,
            delivery_state,
            delivery_error,
            attempts,
            is_automatic,
            language,
        ) in session.execute(
            select(
                Message.id,
                Message.external_id,
                Message.direction,
                Message.kind,
                Message.author_name,
                Identity.handle,
                Message.text,
                Message.created_at,
                Message.delivery_state,
                Message.delivery_error,
                Message.delivery_attempts,
                Message.is_automatic,
                Message.language,
            )
            .outerjoin(Identity, Identity.id == Message.author_identity_id)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
    ]
    return ConversationDetail(row=row, thread_key=conversation.thread_key, messages=messages)
