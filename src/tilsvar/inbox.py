"""The inbox read model: list conversations (filtered, sorted, paged by keyset) and read one whole.

Used by the JSON API and the web UI alike, so both show the same thing. Rows are plain dataclasses;
customer text is never marked safe anywhere.
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.analysis import PRIORITY_RANK
from tilsvar.models import (
    Brand,
    Channel,
    Contact,
    Conversation,
    Identity,
    Message,
    MessageAttachment,
    User,
    utcnow,
)
from tilsvar.models.workflow import ConversationWorkflowState

View = Literal["unanswered", "all", "open", "resolved", "urgent", "personal_data", "flagged"]
Sort = Literal["waiting", "newest_waiting", "recent", "priority"]


@dataclass(frozen=True, slots=True)
class InboxFilter:
    view: View = "unanswered"
    sort: Sort | None = None
    platform: str | None = None
    brand_id: int | None = None
    channel_id: int | None = None
    status: str | None = None
    language: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    priority: str | None = None
    has_pii: bool | None = None
    flagged: bool | None = None
    team_id: int | None = None  # a team's queue (workflow)
    assignee_id: int | None = None  # one agent's conversations ("mine")
    unassigned: bool | None = None  # in a queue, nobody assigned

    @property
    def effective_sort(self) -> Sort:
        if self.sort:
            return self.sort
        if self.view == "urgent":
            return "priority"
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
    priority: str
    intent: str | None
    sentiment: str | None
    language: str | None
    pii_exposed: bool
    flagged: bool
    priority_rank: int
    team_id: int | None = None
    sla_level: str | None = None  # ok, warning, breached, paused, none (actions/sla.py)
    sla_due_at: datetime | None = None  # the earliest due time of a running SLA clock

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
            "priority": self.priority,
            "intent": self.intent,
            "sentiment": self.sentiment,
            "language": self.language,
            "pii_exposed": self.pii_exposed,
            "flagged": self.flagged,
            "team_id": self.team_id,
            "sla": {"level": self.sla_level or "none", "due_at": _iso(self.sla_due_at)},
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
            Conversation.priority,
            Conversation.intent,
            Conversation.sentiment,
            Conversation.language,
            Conversation.pii_exposed,
            Conversation.flagged,
            Conversation.priority_rank,
            Conversation.team_id,
            ConversationWorkflowState.sla_level,
            ConversationWorkflowState.next_due_at,
        )
        .join(Channel, Channel.id == Conversation.channel_id)
        .join(Brand, Brand.id == Conversation.brand_id)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(ConversationWorkflowState, ConversationWorkflowState.conversation_id == Conversation.id)
    )


# Up to this many brands, a page is read brand by brand (each an ordered index range) and merged;
# beyond it, one query sorts the lot.
MERGE_BRANDS_UP_TO = 24


def list_conversations(
    session: Session,
    user: User,
    *,
    filters: InboxFilter,
    cursor: str | None = None,
    limit: int = 50,
    within: Select[Any] | None = None,
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
    if sort == "priority":
        return _priority_page(session, brand_ids, filters=filters, cursor=cursor, limit=limit)
    key_column = Conversation.last_message_at if sort == "recent" else Conversation.waiting_since
    descending = sort != "waiting"
    conditions = _conditions(filters, key_column=key_column, descending=descending, cursor=cursor)
    if within is not None:  # a saved search or query as an inbox view (search.saved.inbox_scope)
        conditions.append(Conversation.id.in_(within))
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
    return Page(rows=_rows_in_order(session, [row_id for _, row_id in page_keys]), next_cursor=next_cursor)


def count_views(session: Session, user: User, *, views: dict[str, InboxFilter]) -> dict[str, int]:
    """Exact counts of several inbox views in one pass over the user's conversations (the inbox tabs).

    The views must share their brand and platform filters (they are taken from the first). One scan
    with a conditional sum per view: at 100k conversations this beats one indexed count per view, as
    views like "mine" or "waiting on customer" have no index of their own."""
    first = next(iter(views.values()))
    brand_ids = access.brand_ids(session, user)
    if first.brand_id:
        brand_ids = [brand_id for brand_id in brand_ids if brand_id == first.brand_id]
    if not brand_ids:
        return dict.fromkeys(views, 0)
    sums = [
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            *_conditions(
                                view, key_column=Conversation.last_message_at, descending=True, cursor=None
                            )
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for view in views.values()
    ]
    query = select(*sums).select_from(Conversation).where(Conversation.brand_id.in_(brand_ids))
    if first.platform:
        query = query.join(Channel, Channel.id == Conversation.channel_id)
    row = session.execute(query).one()
    return {key: int(value or 0) for key, value in zip(views, row, strict=True)}


def _rows_in_order(session: Session, ids: list[int]) -> list[ConversationRow]:
    by_id = {
        row.id: row
        for row in (
            ConversationRow(*values) for values in session.execute(_columns().where(Conversation.id.in_(ids)))
        )
    }
    return [by_id[row_id] for row_id in ids]


def _priority_page(
    session: Session, brand_ids: list[int], *, filters: InboxFilter, cursor: str | None, limit: int
) -> Page:
    """Most urgent first, then longest waiting: waiting conversations only. The cursor holds
    (rank, waiting since, id)."""
    conditions = _conditions(filters, key_column=Conversation.waiting_since, descending=False, cursor=None)
    if cursor:
        rank, after_value, after_id = _decode_priority_cursor(cursor)
        conditions.append(
            or_(
                Conversation.priority_rank < rank,
                and_(
                    Conversation.priority_rank == rank,
                    or_(
                        Conversation.waiting_since > after_value,
                        and_(Conversation.waiting_since == after_value, Conversation.id > after_id),
                    ),
                ),
            )
        )
    keys = (
        select(Conversation.priority_rank, Conversation.waiting_since, Conversation.id)
        .where(*conditions)
        .order_by(Conversation.priority_rank.desc(), Conversation.waiting_since.asc(), Conversation.id.asc())
    )
    if filters.platform:
        keys = keys.join(Channel, Channel.id == Conversation.channel_id)
    runs = [
        [
            (-rank, waiting, row_id)
            for rank, waiting, row_id in session.execute(
                keys.where(Conversation.brand_id == brand_id).limit(limit + 1)
            )
        ]
        for brand_id in brand_ids
    ]
    page_keys = list(islice(heapq.merge(*runs), limit + 1))
    next_cursor = None
    if len(page_keys) > limit:
        page_keys = page_keys[:limit]
        negative_rank, waiting, row_id = page_keys[-1]
        assert waiting is not None
        next_cursor = base64.urlsafe_b64encode(
            json.dumps([-negative_rank, waiting.isoformat(), row_id]).encode()
        ).decode()
    return Page(rows=_rows_in_order(session, [key[2] for key in page_keys]), next_cursor=next_cursor)


def _decode_priority_cursor(cursor: str) -> tuple[int, datetime, int]:
    try:
        rank, value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(rank), datetime.fromisoformat(value), int(row_id)
    except (ValueError, TypeError) as error:
        raise ValueError("invalid cursor") from error


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
    elif filters.view == "urgent":
        conditions += [
            Conversation.priority_rank >= PRIORITY_RANK["high"],
            Conversation.waiting_since.is_not(None),
            Conversation.status.not_in(("resolved", "closed")),
        ]
    elif filters.view == "personal_data":
        conditions += [Conversation.pii_exposed.is_(True), Conversation.status.not_in(("resolved", "closed"))]
    elif filters.view == "flagged":
        conditions += [Conversation.flagged.is_(True), Conversation.status.not_in(("resolved", "closed"))]
    if filters.language:
        conditions.append(Conversation.language == filters.language)
    if filters.intent:
        conditions.append(Conversation.intent == filters.intent)
    if filters.sentiment:
        conditions.append(Conversation.sentiment == filters.sentiment)
    if filters.priority:
        conditions.append(Conversation.priority == filters.priority)
    if filters.has_pii is not None:
        conditions.append(Conversation.pii_exposed.is_(filters.has_pii))
    if filters.flagged is not None:
        conditions.append(Conversation.flagged.is_(filters.flagged))
    if filters.platform:
        conditions.append(Channel.platform == filters.platform)
    if filters.channel_id:
        conditions.append(Conversation.channel_id == filters.channel_id)
    if filters.status:
        conditions.append(Conversation.status == filters.status)
    if filters.team_id:
        conditions.append(Conversation.team_id == filters.team_id)
    if filters.assignee_id:
        conditions.append(Conversation.assignee_id == filters.assignee_id)
    if filters.unassigned is not None:
        assignee = Conversation.assignee_id
        conditions.append(assignee.is_(None) if filters.unassigned else assignee.is_not(None))
    if cursor:
        after_value, after_id = _decode_cursor(cursor)
        # A row-value comparison: both databases read it as one range of the (brand, key, id) index.
        position = tuple_(key_column, Conversation.id)
        after = tuple_(literal(after_value, key_column.type), literal(after_id))
        conditions.append(position < after if descending else position > after)
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
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    kept: bool  # False when the file was larger than the channel's limit and not stored


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
    intent: str | None
    sentiment: str | None
    priority: str | None
    has_pii: bool
    moderation_action: str
    moderation_state: str
    moderation_reason: str
    # Files that came with the message or were attached to the reply (message_attachments).
    attachments: tuple[AttachmentView, ...] = ()

    @property
    def masked(self) -> bool:
        """Personal data in this message is shown redacted (revealing it is a separate, recorded act)."""
        return self.has_pii

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
            "intent": self.intent,
            "sentiment": self.sentiment,
            "priority": self.priority,
            "personal_data_masked": self.masked,
            "moderation": {
                "action": self.moderation_action or None,
                "state": self.moderation_state or None,
                "reason": self.moderation_reason or None,
            },
        }


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    row: ConversationRow
    thread_key: str
    messages: list[MessageView]
    # The post the conversation's first comment was written under (tilsvar.channels.context), if any.
    context: dict[str, Any] | None = None

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
            text=shown_text,
            created_at=created_at,
            delivery_state=delivery_state,
            delivery_error=delivery_error,
            delivery_attempts=attempts,
            is_automatic=is_automatic,
            language=language,
            intent=intent,
            sentiment=sentiment,
            priority=priority,
            has_pii=has_pii,
            moderation_action=moderation_action,
            moderation_state=moderation_state,
            moderation_reason=moderation_reason,
        )
        for (
            message_id,
            external_id,
            direction,
            kind,
            author_name,
            handle,
            shown_text,
            created_at,
            delivery_state,
            delivery_error,
            attempts,
            is_automatic,
            language,
            intent,
            sentiment,
            priority,
            has_pii,
            moderation_action,
            moderation_state,
            moderation_reason,
        ) in session.execute(
            select(
                Message.id,
                Message.external_id,
                Message.direction,
                Message.kind,
                Message.author_name,
                Identity.handle,
                func.coalesce(Message.redacted_text, Message.text),
                Message.created_at,
                Message.delivery_state,
                Message.delivery_error,
                Message.delivery_attempts,
                Message.is_automatic,
                Message.language,
                Message.intent,
                Message.sentiment,
                Message.priority,
                Message.has_pii,
                Message.moderation_action,
                Message.moderation_state,
                Message.moderation_reason,
            )
            .outerjoin(Identity, Identity.id == Message.author_identity_id)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
    ]
    files: dict[int, list[AttachmentView]] = {}
    if messages:
        for file in session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id.in_([m.id for m in messages]))
            .order_by(MessageAttachment.id)
        ):
            files.setdefault(file.message_id, []).append(
                AttachmentView(file.id, file.filename, file.content_type, file.size, bool(file.storage_path))
            )
        messages = [
            dataclasses.replace(m, attachments=tuple(files[m.id])) if m.id in files else m for m in messages
        ]
    # A JSON column keeps Python None as JSON null, so the first real context is picked here.
    context = next(
        (
            found
            for found in session.scalars(
                select(Message.context)
                .where(Message.conversation_id == conversation.id, Message.kind == "comment")
                .order_by(Message.created_at, Message.id)
            )
            if found
        ),
        None,
    )
    return ConversationDetail(
        row=row, thread_key=conversation.thread_key, messages=messages, context=context or None
    )
