"""The coarse daily rollup (``kpi_daily``) that totals, period comparisons, breakdowns and exact
percentiles are read from, kept beside the fine hourly one.

Why it exists: the hourly rollup's seven dimensions are so many that at a million messages nearly every
conversation has a row of its own, so a week of it is as large as a week of facts. Here a day of one
channel and team is one *totals* row plus one row per agent, language, intent and sentiment seen that
day — a week is a few hundred rows whatever the traffic. The totals row also keeps every first-response
time and every next-response time of the cell's inquiries, sorted and packed as float64 (the very
values of the facts), so medians and p90s stay exact without reading the facts.

Like the hourly rollup, a cell (day × brand × channel × team) is always recomputed from its facts as a
whole, never incremented: the consumer and ``rebuild`` run the same pure function (``cell_rows``) over
the same facts, so they write the same rows. Float sums use ``math.fsum`` (exact, order-independent).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tilsvar.models import KpiConversationFact, KpiDaily, KpiResponseFact

DAY = timedelta(days=1)
TOTAL = ""  # the dimension of a cell's totals row
LABEL_DIMENSIONS = ("agent", "language", "intent", "sentiment")
COUNTS = (
    "conversations",
    "inquiries",
    "answered",
    "resolved",
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
)
Cell = tuple[datetime, int, int, int]  # day, brand, channel, team

_FACT_COLUMNS = (
    KpiConversationFact.hour,
    KpiConversationFact.brand_id,
    KpiConversationFact.channel_id,
    KpiConversationFact.team_id,
    KpiConversationFact.agent_id,
    KpiConversationFact.language,
    KpiConversationFact.intent,
    KpiConversationFact.sentiment,
    KpiConversationFact.is_inquiry,
    KpiConversationFact.first_inbound_at,
    KpiConversationFact.first_response_at,
    KpiConversationFact.frt_minutes,
    KpiConversationFact.resolution_minutes,
    KpiConversationFact.messages_in,
    KpiConversationFact.messages_out,
    KpiConversationFact.pii_messages,
    KpiConversationFact.hidden_messages,
    KpiConversationFact.flagged_messages,
    KpiConversationFact.csat_sent,
    KpiConversationFact.csat,
    KpiConversationFact.sla_breached,
)


def day_of(instant: datetime) -> datetime:
    return instant.replace(hour=0, minute=0, second=0, microsecond=0)


def pack(values: Iterable[float]) -> bytes:
    """Sorted float64 values, little-endian."""
    packed = array("d", sorted(values))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes | None) -> array[float]:
    values = array("d")
    if blob:
        values.frombytes(bytes(blob))
        if sys.byteorder != "little":
            values.byteswap()
    return values


class _Sums:
    """The facts' contributions to one row, summed at the end (column by column, in C)."""

    __slots__ = ("contributions", "frt", "resolution")

    def __init__(self) -> None:
        self.contributions: list[tuple[int, ...]] = []
        self.frt: list[float] = []
        self.resolution: list[float] = []


def cell_rows(cell: Cell, facts: Sequence[Any], next_minutes: Sequence[float]) -> list[dict[str, Any]]:
    """Every ``kpi_daily`` row of one cell from its facts (rows of ``_FACT_COLUMNS``) and the
    next-response minutes of its inquiries. The same sums as the hourly rollup's ``GROUP BY``."""
    day, brand_id, channel_id, team_id = cell
    sums: dict[tuple[str, str], _Sums] = defaultdict(_Sums)
    frts: list[float] = []
    oldest: datetime | None = None
    for fact in facts:
        answered = bool(fact.is_inquiry and fact.first_response_at is not None)
        contribution = (
            1,
            int(bool(fact.is_inquiry)),
            int(answered),
            int(fact.resolution_minutes is not None),
            fact.messages_in,
            fact.messages_out,
            fact.pii_messages,
            int(fact.pii_messages > 0),
            fact.hidden_messages,
            fact.flagged_messages,
            int(bool(fact.csat_sent)),
            int(fact.csat == "happy"),
            int(fact.csat == "neutral"),
            int(fact.csat == "sad"),
            int(fact.sla_breached is not None),
            int(fact.sla_breached is True),
        )
        if fact.is_inquiry and fact.frt_minutes is not None:
            frts.append(float(fact.frt_minutes))
        if fact.is_inquiry and fact.first_response_at is None and fact.first_inbound_at is not None:
            oldest = fact.first_inbound_at if oldest is None else min(oldest, fact.first_inbound_at)
        for key in (
            (TOTAL, ""),
            ("agent", str(fact.agent_id)),
            ("language", fact.language),
            ("intent", fact.intent),
            ("sentiment", fact.sentiment),
        ):
            target = sums[key]
            target.contributions.append(contribution)
            if fact.frt_minutes is not None:
                target.frt.append(float(fact.frt_minutes))
            if fact.resolution_minutes is not None:
                target.resolution.append(float(fact.resolution_minutes))
    rows = []
    for (dimension, value), found in sums.items():
        row: dict[str, Any] = {
            "day": day,
            "brand_id": brand_id,
            "channel_id": channel_id,
            "team_id": team_id,
            "dimension": dimension,
            "value": value,
            **dict(zip(COUNTS, map(sum, zip(*found.contributions, strict=True)), strict=True)),
            "frt_sum_minutes": math.fsum(found.frt),
            "resolution_sum_minutes": math.fsum(found.resolution),
            "oldest_unanswered_at": None,
            "frt_values": b"",
            "next_values": b"",
        }
        if dimension == TOTAL:
            row.update(oldest_unanswered_at=oldest, frt_values=pack(frts), next_values=pack(next_minutes))
        rows.append(row)
    return rows


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    for offset in range(0, len(rows), 1000):
        session.execute(insert(KpiDaily), rows[offset : offset + 1000])


def reaggregate_daily(session: Session, cells: Iterable[Cell]) -> None:
    """Replace the rows of these (day, brand, channel, team) cells with fresh sums of their facts."""
    f = KpiConversationFact
    rows: list[dict[str, Any]] = []
    for cell in sorted(set(cells)):
        day, brand_id, channel_id, team_id = cell
        where = (
            f.channel_id == channel_id,
            f.hour >= day,
            f.hour < day + DAY,
            f.brand_id == brand_id,
            f.team_id == team_id,
        )
        session.execute(
            delete(KpiDaily).where(
                KpiDaily.day == day,
                KpiDaily.brand_id == brand_id,
                KpiDaily.channel_id == channel_id,
                KpiDaily.team_id == team_id,
            )
        )
        facts = session.execute(select(*_FACT_COLUMNS).where(*where)).all()
        if not facts:
            continue
        next_minutes = [
            float(value)
            for value in session.scalars(
                select(KpiResponseFact.minutes)
                .join(f, f.conversation_id == KpiResponseFact.conversation_id)
                .where(*where, f.is_inquiry.is_(True))
            )
        ]
        rows.extend(cell_rows(cell, facts, next_minutes))
    _write(session, rows)


def rebuild_daily(session: Session) -> None:
    """Every ``kpi_daily`` row from the facts, in one pass (the same ``cell_rows`` as the consumer)."""
    f = KpiConversationFact
    session.execute(delete(KpiDaily))
    next_by_cell: dict[Cell, list[float]] = defaultdict(list)
    for hour, brand_id, channel_id, team_id, minutes in session.execute(
        select(f.hour, f.brand_id, f.channel_id, f.team_id, KpiResponseFact.minutes)
        .join(f, f.conversation_id == KpiResponseFact.conversation_id)
        .where(f.is_inquiry.is_(True))
    ):
        next_by_cell[(day_of(hour), brand_id, channel_id, team_id)].append(float(minutes))
    facts_by_cell: dict[Cell, list[Any]] = defaultdict(list)
    for fact in session.execute(select(*_FACT_COLUMNS)):
        facts_by_cell[(day_of(fact.hour), fact.brand_id, fact.channel_id, fact.team_id)].append(fact)
    rows: list[dict[str, Any]] = []
    for cell, facts in facts_by_cell.items():
        rows.extend(cell_rows(cell, facts, next_by_cell.get(cell, [])))
        if len(rows) >= 5000:
            _write(session, rows)
            rows = []
    _write(session, rows)


def daily_missing(session: Session) -> bool:
    """True when facts exist but the daily rollup is empty (just after the upgrade that added it)."""
    if session.scalar(select(KpiDaily.day).limit(1)) is not None:
        return False
    return session.scalar(select(KpiConversationFact.conversation_id).limit(1)) is not None
