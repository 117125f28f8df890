"""The KPI engine's maintenance: per-conversation facts and hourly rollups, kept current from the
domain-event log, and rebuilt from scratch on demand.

Why this shape: reports must stay fast at millions of messages, percentiles must be exact, and
maintenance must be safe to repeat. So:

- every conversation has one **fact row** (``kpi_conversation_facts``) holding its dimensions and what
  it contributes to each KPI (inquiry, answered, FRT minutes, message counts, moderation, personal
  data, CSAT, SLA), plus one row per next-response time (``kpi_response_facts``). A fact is computed
  from the conversation and its messages alone, so recomputing it is always correct;
- the **hourly rollup** (``kpi_hourly``) sums the facts per hour × brand × channel × team × agent (of
  first reply) × language × intent × sentiment. Its rows for an (hour, brand) are always replaced by a
  fresh ``GROUP BY`` over that hour's facts, never incremented;
- the **daily rollup** (``kpi_daily``, ``reports.daily``) sums the same facts per day × brand ×
  channel × team, with one row per label value and the cell's response times packed for exact
  percentiles; reports read whole days from it and only the hours around them from the hourly one;
- the **consumer** reads ``domain_events`` after its cursor, recomputes the facts of the conversations
  those events name, re-aggregates the (hour, brand) cells the old and new facts fall in, and moves
  the daily rows from the old facts to the new ones by exact differences (``daily.apply_changes``).
  Re-processing any range of events recomputes the same facts and the same sums: nothing is ever
  counted twice. ``rebuild`` computes every fact and every cell from scratch and gives the same rows.

On PostgreSQL ids are taken before commit, so an event with a smaller id can become visible after a
larger one. The cursor therefore stops short of events younger than ``analytics_settle_seconds``;
those are processed now and again on the next run (harmless: processing is idempotent).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tilsvar.db import Database, bulk_insert
from tilsvar.models import (
    AnalyticsCursor,
    Conversation,
    DomainEvent,
    KpiConversationFact,
    KpiHourly,
    KpiResponseFact,
    Message,
    utcnow,
)
from tilsvar.models.base import table_of
from tilsvar.models.workflow import ConversationWorkflowState, CsatSurvey
from tilsvar.reports.daily import FACT_COLUMNS, apply_changes, daily_missing, rebuild_daily
from tilsvar.settings import get_settings

CURSOR = "rollups"
CHUNK = 2000
PUBLIC_KINDS = frozenset({"comment", "post"})  # as actions.analysis: where personal data is exposed
HIDDEN_STATES = frozenset({"hidden"})
FLAGGED_STATES = frozenset({"flagged", "cleared"})
SLA_BREACHED = frozenset({"breached", "missed"})
SLA_UNMEASURED = frozenset({"none", "cancelled", ""})
CSAT_RATINGS = ("happy", "neutral", "sad")


def hour_of(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    events: int
    conversations: int
    position: int
    seconds: float


def conversation_facts(
    session: Session, conversation_ids: Sequence[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fact rows and next-response rows for these conversations (those that still exist)."""
    if not conversation_ids:
        return [], []
    conversations = session.execute(
        select(
            Conversation.id,
            Conversation.organization_id,
            Conversation.brand_id,
            Conversation.channel_id,
            Conversation.team_id,
            Conversation.first_message_at,
            Conversation.first_message_inbound,
            Conversation.first_inbound_at,
            Conversation.first_response_at,
            Conversation.resolved_at,
            Conversation.language,
            Conversation.intent,
            Conversation.sentiment,
        ).where(Conversation.id.in_(conversation_ids))
    ).all()
    if not conversations:
        return [], []
    found = [row.id for row in conversations]
    per_conversation: dict[int, _MessageSummary] = defaultdict(_MessageSummary)
    first_inbound = {row.id: row.first_inbound_at for row in conversations}
    messages = session.execute(
        select(
            Message.conversation_id,
            Message.direction,
            Message.kind,
            Message.created_at,
            Message.is_automatic,
            Message.delivery_state,
            Message.author_user_id,
            Message.has_pii,
            Message.moderation_action,
            Message.moderation_state,
        )
        .where(Message.conversation_id.in_(found))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
    )
    for message in messages:
        per_conversation[message.conversation_id].add(message, first_inbound[message.conversation_id])
    csat: dict[int, tuple[bool, str]] = {}
    for conversation_id, rating in session.execute(
        select(CsatSurvey.conversation_id, CsatSurvey.rating)
        .where(CsatSurvey.conversation_id.in_(found))
        .order_by(CsatSurvey.conversation_id, CsatSurvey.sent_at, CsatSurvey.id)
    ):
        csat[conversation_id] = (True, rating if rating in CSAT_RATINGS else "")
    sla: dict[int, bool | None] = {
        conversation_id: (None if (level or "") in SLA_UNMEASURED else level in SLA_BREACHED)
        for conversation_id, level in session.execute(
            select(ConversationWorkflowState.conversation_id, ConversationWorkflowState.sla_level).where(
                ConversationWorkflowState.conversation_id.in_(found)
            )
        )
    }
    facts: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for row in conversations:
        summary = per_conversation[row.id]
        inquiry = bool(row.first_message_inbound and row.first_inbound_at is not None)
        frt = (
            (row.first_response_at - row.first_inbound_at).total_seconds() / 60
            if inquiry and row.first_response_at is not None
            else None
        )
        resolution = (
            (row.resolved_at - row.first_inbound_at).total_seconds() / 60
            if row.resolved_at is not None and row.first_inbound_at is not None
            else None
        )
        sent, rating = csat.get(row.id, (False, ""))
        facts.append(
            {
                "conversation_id": row.id,
                "organization_id": row.organization_id,
                "brand_id": row.brand_id,
                "channel_id": row.channel_id,
                "team_id": row.team_id or 0,
                "agent_id": summary.agent_id or 0,
                "language": (row.language or "")[:8],
                "intent": (row.intent or "")[:16],
                "sentiment": (row.sentiment or "")[:8],
                "hour": hour_of(row.first_inbound_at if inquiry else row.first_message_at),
                "is_inquiry": inquiry,
                "first_inbound_at": row.first_inbound_at,
                "first_response_at": row.first_response_at if inquiry else None,
                "frt_minutes": frt,
                "resolved_at": row.resolved_at,
                "resolution_minutes": resolution,
                "messages_in": summary.messages_in,
                "messages_out": summary.messages_out,
                "pii_messages": summary.pii_messages,
                "hidden_messages": summary.hidden,
                "flagged_messages": summary.flagged,
                "csat_sent": sent,
                "csat": rating,
                "sla_breached": sla.get(row.id),
            }
        )
        responses.extend(
            {"conversation_id": row.id, "seq": seq, "minutes": minutes}
            for seq, minutes in enumerate(summary.next_responses)
        )
    return facts, responses


class _MessageSummary:
    """Walks one conversation's messages in time order (the same walk as ``kpis.py``)."""

    __slots__ = (
        "agent_id",
        "flagged",
        "hidden",
        "messages_in",
        "messages_out",
        "next_responses",
        "pii_messages",
        "replied",
        "waiting_since",
    )

    def __init__(self) -> None:
        self.agent_id: int | None = None
        self.messages_in = self.messages_out = self.pii_messages = self.hidden = self.flagged = 0
        self.next_responses: list[float] = []
        self.replied = False
        self.waiting_since: datetime | None = None

    def add(self, row: Any, first_inbound_at: datetime | None) -> None:
        if row.direction == "in":
            self.messages_in += 1
            if row.has_pii and row.kind in PUBLIC_KINDS:
                self.pii_messages += 1
            if row.moderation_state in HIDDEN_STATES:
                self.hidden += 1
            if row.moderation_action == "flag" or row.moderation_state in FLAGGED_STATES:
                self.flagged += 1
            if self.replied and self.waiting_since is None:
                self.waiting_since = row.created_at
        elif not row.is_automatic and row.delivery_state == "sent":
            self.messages_out += 1
            if (
                self.agent_id is None
                and first_inbound_at is not None
                and row.created_at >= first_inbound_at
                and self.messages_in
            ):
                self.agent_id = row.author_user_id or 0
            if self.waiting_since is not None:
                self.next_responses.append((row.created_at - self.waiting_since).total_seconds() / 60)
                self.waiting_since = None
            self.replied = True


def _flag(column: Any) -> ColumnElement[int]:
    return case((column.is_(True), 1), else_=0)


def _rollup_select(where: ColumnElement[bool] | None) -> Any:
    """``SELECT`` of kpi_hourly rows summed from the facts matching ``where``."""
    f = KpiConversationFact
    dims = (f.hour, f.brand_id, f.channel_id, f.team_id, f.agent_id, f.language, f.intent, f.sentiment)
    answered = and_(f.is_inquiry.is_(True), f.first_response_at.is_not(None))
    query = select(
        *dims,
        func.count().label("conversations"),
        func.sum(_flag(f.is_inquiry)).label("inquiries"),
        func.sum(case((answered, 1), else_=0)).label("answered"),
        func.coalesce(func.sum(f.frt_minutes), 0.0).label("frt_sum_minutes"),
        func.count(f.resolution_minutes).label("resolved"),
        func.coalesce(func.sum(f.resolution_minutes), 0.0).label("resolution_sum_minutes"),
        func.sum(f.messages_in).label("messages_in"),
        func.sum(f.messages_out).label("messages_out"),
        func.sum(f.pii_messages).label("pii_messages"),
        func.sum(case((f.pii_messages > 0, 1), else_=0)).label("pii_conversations"),
        func.sum(f.hidden_messages).label("hidden_messages"),
        func.sum(f.flagged_messages).label("flagged_messages"),
        func.sum(_flag(f.csat_sent)).label("csat_sent"),
        *(func.sum(case((f.csat == rating, 1), else_=0)).label(f"csat_{rating}") for rating in CSAT_RATINGS),
        func.count(f.sla_breached).label("sla_measured"),
        func.sum(_flag(f.sla_breached)).label("sla_breached"),
    ).group_by(*dims)
    if where is not None:
        query = query.where(where)
    return query


ROLLUP_COLUMNS = [
    "hour",
    "brand_id",
    "channel_id",
    "team_id",
    "agent_id",
    "language",
    "intent",
    "sentiment",
    "conversations",
    "inquiries",
    "answered",
    "frt_sum_minutes",
    "resolved",
    "resolution_sum_minutes",
    "messages_in",
    "messages_out",
    "pii_messages",
    "pii_conversations",
    "hidden_messages",
    "flagged_messages",
    "csat_sent",
    "csat_happy",
    "csat_neutral",
    "csat_sad",
    "sla_measured",
    "sla_breached",
]


def _reaggregate(session: Session, cells: set[tuple[datetime, int]]) -> None:
    """Replace the rollup rows of these (hour, brand) cells with fresh sums of their facts."""
    by_brand: dict[int, set[datetime]] = defaultdict(set)
    for hour, brand_id in cells:
        by_brand[brand_id].add(hour)
    for brand_id, hours in by_brand.items():
        ordered = sorted(hours)
        for offset in range(0, len(ordered), 500):
            chunk = ordered[offset : offset + 500]
            session.execute(
                delete(KpiHourly).where(KpiHourly.brand_id == brand_id, KpiHourly.hour.in_(chunk))
            )
            where = and_(KpiConversationFact.brand_id == brand_id, KpiConversationFact.hour.in_(chunk))
            session.execute(insert(KpiHourly).from_select(ROLLUP_COLUMNS, _rollup_select(where)))


def update_conversations(session: Session, conversation_ids: Iterable[int]) -> int:
    """Recompute the facts of these conversations and the rollup cells they were or are in."""
    ids = sorted(set(conversation_ids))
    cells: set[tuple[datetime, int]] = set()
    f = KpiConversationFact
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        old = [
            row._mapping for row in session.execute(select(*FACT_COLUMNS).where(f.conversation_id.in_(chunk)))
        ]
        old_next: dict[int, list[float]] = defaultdict(list)
        for conversation_id, minutes in session.execute(
            select(KpiResponseFact.conversation_id, KpiResponseFact.minutes)
            .where(KpiResponseFact.conversation_id.in_(chunk))
            .order_by(KpiResponseFact.conversation_id, KpiResponseFact.seq)
        ):
            old_next[conversation_id].append(float(minutes))
        cells.update((fact["hour"], fact["brand_id"]) for fact in old)
        facts, responses = conversation_facts(session, chunk)
        session.execute(delete(KpiResponseFact).where(KpiResponseFact.conversation_id.in_(chunk)))
        session.execute(delete(KpiConversationFact).where(KpiConversationFact.conversation_id.in_(chunk)))
        bulk_insert(session, table_of(KpiConversationFact), facts)
        bulk_insert(session, table_of(KpiResponseFact), responses)
        cells.update((fact["hour"], fact["brand_id"]) for fact in facts)
        new_next: dict[int, list[float]] = defaultdict(list)
        for response in responses:
            new_next[response["conversation_id"]].append(float(response["minutes"]))
        apply_changes(session, old, facts, old_next, new_next)
    _reaggregate(session, cells)
    return len(ids)


def _lock_cursor(session: Session, *, wait: bool) -> AnalyticsCursor | None:
    """The consumer's cursor row, locked for this transaction (None: another process holds it)."""
    dialect = session.get_bind().dialect.name
    values = {"name": CURSOR, "position": 0, "updated_at": utcnow()}
    if dialect == "postgresql":
        session.execute(postgresql.insert(AnalyticsCursor).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(AnalyticsCursor).values(**values).on_conflict_do_nothing())
    query = select(AnalyticsCursor).where(AnalyticsCursor.name == CURSOR)
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=not wait)
    return session.scalar(query.execution_options(populate_existing=True))


def _settled_position(
    session: Session, events: Sequence[tuple[int, datetime]], position: int, now: datetime
) -> int:
    """How far the cursor may move past ``events``: to the end on SQLite (one writer at a time, ids
    commit in order); on PostgreSQL only past events older than the settle window."""
    if session.get_bind().dialect.name == "sqlite" or not events:
        return events[-1][0] if events else position
    settle = timedelta(seconds=get_settings().analytics_settle_seconds)
    for event_id, occurred_at in events:
        if occurred_at > now - settle:
            return position
        position = event_id
    return position


def refresh_rollups(
    database: Database, *, batch: int = 5000, wait: bool = False, pause: float = 0.0
) -> RefreshResult:
    """Bring facts and rollups up to date with the event log; returns what was done.

    Each batch of events is one transaction; ``pause`` seconds between batches let other writers in
    (on SQLite a writer waiting for the lock polls, and back-to-back transactions starve it).

    Safe to run from any number of processes: the cursor row is locked (a concurrent run skips, or with
    ``wait`` waits), and every step is idempotent."""
    started = time.perf_counter()
    events_seen = conversations = 0
    with database.reader() as session:  # nothing new: no write transaction at all
        position = int(
            session.scalar(select(AnalyticsCursor.position).where(AnalyticsCursor.name == CURSOR)) or 0
        )
        if not session.scalar(select(DomainEvent.id).where(DomainEvent.id > position).limit(1)):
            return RefreshResult(0, 0, position, time.perf_counter() - started)
    read_up_to: int | None = None  # events already processed in this run (past the cursor if unsettled)
    settled = True
    while True:
        with database.session() as session:
            cursor = _lock_cursor(session, wait=wait)
            if cursor is None:
                break
            if read_up_to is None and daily_missing(session):
                rebuild_daily(session)  # the first run after the upgrade that added the daily rollup
            position = cursor.position
            start = position if read_up_to is None else max(position, read_up_to)
            rows = session.execute(
                select(DomainEvent.id, DomainEvent.occurred_at, DomainEvent.conversation_id)
                .where(DomainEvent.id > start)
                .order_by(DomainEvent.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            conversations += update_conversations(
                session, {row.conversation_id for row in rows if row.conversation_id is not None}
            )
            events_seen += len(rows)
            read_up_to = rows[-1].id
            if settled:
                # The cursor only moves past settled events, and never past one that is not yet.
                moved = _settled_position(
                    session, [(row.id, row.occurred_at) for row in rows], position, utcnow()
                )
                settled = moved == rows[-1].id
                cursor.position = moved
                cursor.updated_at = utcnow()
                position = moved
            if len(rows) < batch:
                break
        if pause:
            time.sleep(pause)
    return RefreshResult(events_seen, conversations, position, time.perf_counter() - started)


def rebuild_rollups(database: Database) -> RefreshResult:
    """Recompute every fact and rollup row from the conversations and messages, in one transaction,
    and move the cursor to the end of the event log."""
    started = time.perf_counter()
    with database.session() as session:
        cursor = _lock_cursor(session, wait=True)
        assert cursor is not None
        last = select(func.coalesce(func.max(DomainEvent.id), 0))
        if session.get_bind().dialect.name != "sqlite":
            settle = timedelta(seconds=get_settings().analytics_settle_seconds)
            last = last.where(DomainEvent.occurred_at <= utcnow() - settle)
        position = int(session.scalar(last) or 0)
        session.execute(delete(KpiHourly))
        session.execute(delete(KpiResponseFact))
        session.execute(delete(KpiConversationFact))
        ids = list(session.scalars(select(Conversation.id).order_by(Conversation.id)))
        for offset in range(0, len(ids), CHUNK * 5):
            facts, responses = conversation_facts(session, ids[offset : offset + CHUNK * 5])
            bulk_insert(session, table_of(KpiConversationFact), facts)
            bulk_insert(session, table_of(KpiResponseFact), responses)
        session.execute(insert(KpiHourly).from_select(ROLLUP_COLUMNS, _rollup_select(None)))
        rebuild_daily(session)
        cursor.position = position
        cursor.updated_at = utcnow()
    return RefreshResult(0, len(ids), position, time.perf_counter() - started)
