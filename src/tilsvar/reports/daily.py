"""The coarse daily rollup (``kpi_daily``) that totals, period comparisons, breakdowns and exact
percentiles are read from, kept beside the fine hourly one.

Why it exists: the hourly rollup's seven dimensions are so many that at a million messages nearly every
conversation has a row of its own, so a week of it is as large as a week of facts. Here a day of one
channel and team is one *totals* row plus one row per agent, language, intent and sentiment seen that
day — a week is a few hundred rows whatever the traffic. The totals row also keeps every first-response
time and every next-response time of the cell's inquiries, sorted and packed as float64 (the very
values of the facts), so medians and p90s stay exact without reading the facts.

Maintenance is by exact differences, so that a new message costs a few rows and not a re-read of a
day of facts: when the consumer replaces a conversation's fact, ``apply_changes`` takes the old fact's
contribution out of its rows and puts the new one in — counts are integers, time sums are kept as whole
microseconds (``*_sum_us``; the minutes columns are derived from them), and a response time leaves or
enters the sorted packed values by value. Every step is exact, so the rows equal what ``rebuild_daily``
(``cell_rows`` over all facts) writes, whatever order the changes came in, and processing an unchanged
fact again changes nothing. A cell that does not add up (a value to remove that is not there, a count
that would go below zero) is recomputed from its facts instead (``reaggregate_daily``).
"""

from __future__ import annotations

import logging
import sys
from array import array
from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from tilsvar.db import bulk_insert
from tilsvar.models import KpiConversationFact, KpiDaily, KpiResponseFact
from tilsvar.models.base import table_of

log = logging.getLogger(__name__)
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

US_PER_MINUTE = 60_000_000
FACT_COLUMNS = (
    KpiConversationFact.conversation_id,
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


def _us(minutes: float | None) -> int:
    """Whole microseconds of a time the facts hold in minutes (computed from microsecond timestamps)."""
    return round(float(minutes) * US_PER_MINUTE) if minutes is not None else 0


def cell_of(fact: Mapping[Any, Any]) -> Cell:
    return (day_of(fact["hour"]), fact["brand_id"], fact["channel_id"], fact["team_id"])


def _keys(fact: Mapping[Any, Any]) -> tuple[tuple[str, str], ...]:
    return (
        (TOTAL, ""),
        ("agent", str(fact["agent_id"])),
        ("language", fact["language"]),
        ("intent", fact["intent"]),
        ("sentiment", fact["sentiment"]),
    )


def _contribution(fact: Mapping[Any, Any]) -> tuple[int, ...]:
    """What one fact adds to each of its rows: ``COUNTS`` then the two microsecond sums."""
    pii = fact["pii_messages"]
    sla = fact["sla_breached"]
    return (
        1,
        int(bool(fact["is_inquiry"])),
        int(bool(fact["is_inquiry"] and fact["first_response_at"] is not None)),
        int(fact["resolution_minutes"] is not None),
        fact["messages_in"],
        fact["messages_out"],
        pii,
        int(pii > 0),
        fact["hidden_messages"],
        fact["flagged_messages"],
        int(bool(fact["csat_sent"])),
        int(fact["csat"] == "happy"),
        int(fact["csat"] == "neutral"),
        int(fact["csat"] == "sad"),
        int(sla is not None),
        int(sla is True),
        _us(fact["frt_minutes"]),
        _us(fact["resolution_minutes"]),
    )


def _frt(fact: Mapping[Any, Any]) -> float | None:
    return float(fact["frt_minutes"]) if fact["is_inquiry"] and fact["frt_minutes"] is not None else None


def _unanswered_since(fact: Mapping[Any, Any]) -> datetime | None:
    if fact["is_inquiry"] and fact["first_response_at"] is None:
        return fact["first_inbound_at"]  # type: ignore[no-any-return]
    return None


class _Row:
    """One ``kpi_daily`` row while it is being computed or changed."""

    __slots__ = ("frt", "key", "next", "oldest", "sums")

    def __init__(self, key: tuple[Cell, str, str]) -> None:
        self.key = key
        self.sums = [0] * (len(COUNTS) + 2)
        self.oldest: datetime | None = None
        self.frt: list[float] = []
        self.next: list[float] = []

    @classmethod
    def loaded(cls, row: Any) -> _Row:
        found = cls(((row.day, row.brand_id, row.channel_id, row.team_id), row.dimension, row.value))
        found.sums = [*(getattr(row, name) for name in COUNTS), row.frt_sum_us, row.resolution_sum_us]
        found.oldest = row.oldest_unanswered_at
        found.frt = list(unpack(row.frt_values))
        found.next = list(unpack(row.next_values))
        return found

    def as_dict(self) -> dict[str, Any]:
        (day, brand_id, channel_id, team_id), dimension, value = self.key
        total = dimension == TOTAL
        return {
            "day": day,
            "brand_id": brand_id,
            "channel_id": channel_id,
            "team_id": team_id,
            "dimension": dimension,
            "value": value,
            **dict(zip(COUNTS, self.sums, strict=False)),
            "frt_sum_us": self.sums[-2],
            "resolution_sum_us": self.sums[-1],
            "frt_sum_minutes": self.sums[-2] / US_PER_MINUTE,
            "resolution_sum_minutes": self.sums[-1] / US_PER_MINUTE,
            "oldest_unanswered_at": self.oldest if total else None,
            "frt_values": pack(self.frt) if total else b"",
            "next_values": pack(self.next) if total else b"",
        }


def cell_rows(cell: Cell, facts: Sequence[Any], next_minutes: Sequence[float]) -> list[dict[str, Any]]:
    """Every ``kpi_daily`` row of one cell from its facts (rows of ``FACT_COLUMNS``) and the
    next-response minutes of its inquiries. The same sums as the hourly rollup's ``GROUP BY``."""
    contributions: dict[tuple[str, str], list[tuple[int, ...]]] = defaultdict(list)
    total = _Row((cell, TOTAL, ""))
    for row in facts:
        fact = row._mapping if hasattr(row, "_mapping") else row
        contribution = _contribution(fact)
        for key in _keys(fact):
            contributions[key].append(contribution)
        frt = _frt(fact)
        if frt is not None:
            total.frt.append(frt)
        since = _unanswered_since(fact)
        if since is not None:
            total.oldest = since if total.oldest is None else min(total.oldest, since)
    total.next = list(next_minutes)
    rows = []
    for (dimension, value), found in contributions.items():
        row = total if dimension == TOTAL else _Row((cell, dimension, value))
        row.sums = [sum(column) for column in zip(*found, strict=True)]
        rows.append(row.as_dict())
    return rows


def _load(session: Session, keys: set[tuple[Cell, str, str]]) -> dict[tuple[Cell, str, str], _Row]:
    """The stored rows of these keys, each cell sought by its primary-key prefix (one statement of a
    fixed shape, so SQLAlchemy compiles it once)."""
    found: dict[tuple[Cell, str, str], _Row] = {}
    table = table_of(KpiDaily)
    statement = select(*table.columns).where(
        table.c.day == bindparam("k_day"),
        table.c.brand_id == bindparam("k_brand"),
        table.c.channel_id == bindparam("k_channel"),
        table.c.team_id == bindparam("k_team"),
    )
    for day, brand_id, channel_id, team_id in sorted({key[0] for key in keys}):
        for row in session.execute(
            statement, {"k_day": day, "k_brand": brand_id, "k_channel": channel_id, "k_team": team_id}
        ):
            key = ((day, brand_id, channel_id, team_id), row.dimension, row.value)
            if key in keys:
                found[key] = _Row.loaded(row)
    return found


def _remove(values: list[float], value: float) -> bool:
    position = bisect_left(values, value)
    if position < len(values) and values[position] == value:
        del values[position]
        return True
    return False


def _inconsistent(sums: Sequence[int]) -> bool:
    return any(value < 0 for value in sums) or (sums[0] == 0 and any(sums))


def apply_changes(
    session: Session,
    old: Sequence[Mapping[Any, Any]],
    new: Sequence[Mapping[Any, Any]],
    old_next: Mapping[int, Sequence[float]],
    new_next: Mapping[int, Sequence[float]],
) -> None:
    """Move the daily rows from the ``old`` facts (as they were stored, with their next-response
    minutes) to the ``new`` ones (already written to the facts table)."""
    keys = {(cell_of(fact), *key) for fact in (*old, *new) for key in _keys(fact)}
    if not keys:
        return
    rows = _load(session, keys)
    broken: set[Cell] = set()
    recheck: set[Cell] = set()
    changed: set[tuple[Cell, str, str]] = set()
    for sign, facts, nexts in ((-1, old, old_next), (1, new, new_next)):
        if sign > 0:  # every old fact is out: nothing may be below zero, or hold anything without a fact
            broken.update(key[0] for key, row in rows.items() if _inconsistent(row.sums))
        for fact in facts:
            cell = cell_of(fact)
            contribution = _contribution(fact)
            for dimension, value in _keys(fact):
                row = rows.get((cell, dimension, value))
                if row is None:
                    row = rows[(cell, dimension, value)] = _Row((cell, dimension, value))
                row.sums = [have + sign * change for have, change in zip(row.sums, contribution, strict=True)]
                changed.add((cell, dimension, value))
            total = rows[(cell, TOTAL, "")]
            frt = _frt(fact)
            since = _unanswered_since(fact)
            if sign < 0:
                if frt is not None and not _remove(total.frt, frt):
                    broken.add(cell)
                for minutes in nexts.get(fact["conversation_id"], ()) if fact["is_inquiry"] else ():
                    if not _remove(total.next, float(minutes)):
                        broken.add(cell)
                if since is not None and (total.oldest is None or since <= total.oldest):
                    recheck.add(cell)
            else:
                if frt is not None:
                    insort(total.frt, frt)
                for minutes in nexts.get(fact["conversation_id"], ()) if fact["is_inquiry"] else ():
                    insort(total.next, float(minutes))
                if since is not None:
                    total.oldest = since if total.oldest is None else min(total.oldest, since)
    f = KpiConversationFact
    for cell in recheck - broken:
        day, brand_id, channel_id, team_id = cell
        rows[(cell, TOTAL, "")].oldest = session.scalar(
            select(f.first_inbound_at)
            .where(
                f.channel_id == channel_id,
                f.hour >= day,
                f.hour < day + DAY,
                f.brand_id == brand_id,
                f.team_id == team_id,
                f.is_inquiry.is_(True),
                f.first_response_at.is_(None),
            )
            .order_by(f.first_inbound_at)
            .limit(1)
        )
    broken.update(key[0] for key, row in rows.items() if _inconsistent(row.sums))
    written = sorted(key for key in changed if key[0] not in broken)
    table = table_of(KpiDaily)
    if written:
        session.execute(
            delete(table).where(
                table.c.day == bindparam("k_day"),
                table.c.brand_id == bindparam("k_brand"),
                table.c.channel_id == bindparam("k_channel"),
                table.c.team_id == bindparam("k_team"),
                table.c.dimension == bindparam("k_dimension"),
                table.c.value == bindparam("k_value"),
            ),
            [
                {
                    "k_day": day,
                    "k_brand": brand_id,
                    "k_channel": channel_id,
                    "k_team": team_id,
                    "k_dimension": dimension,
                    "k_value": value,
                }
                for (day, brand_id, channel_id, team_id), dimension, value in keys
            ],
        )
    _write(session, [rows[key].as_dict() for key in written if rows[key].sums[0] > 0])
    if broken:
        log.warning("daily KPI rollup: %d cell(s) did not add up, recomputed from their facts", len(broken))
        reaggregate_daily(session, broken)


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    bulk_insert(session, table_of(KpiDaily), rows)


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
        facts = session.execute(select(*FACT_COLUMNS).where(*where)).all()
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
    for fact in session.execute(select(*FACT_COLUMNS)):
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
