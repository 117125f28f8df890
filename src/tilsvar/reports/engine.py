"""Reading the KPI engine: the KPI report, breakdowns, time series and distributions, for any period of
whole hours and any filter on the rollup's dimensions.

A period is read in parts (``split``): its whole UTC days from the daily rollup (``kpi_daily``: counts,
sums and the packed response times behind exact percentiles), the hours before the first and after the
last whole day from the hourly rollup (counts) and the facts (percentiles). A scope that filters on
labels (agent, language, intent, sentiment) is read from the hourly rollup and the facts throughout,
since the daily rollup keeps each label dimension on its own.

``kpi_report`` gives exactly what ``kpis.compute_report`` computes from conversations and messages
(tests/test_rollups.py holds them equal); everything the dashboard, wall screen and weekly report show
comes from here, so every screen uses one definition (docs/kpis.md).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.orm import Session

from tilsvar.models import (
    Brand,
    Channel,
    Conversation,
    KpiConversationFact,
    KpiDaily,
    KpiHourly,
    KpiResponseFact,
    Team,
    User,
    utcnow,
)
from tilsvar.models.conversations import OPEN_WAITING_SQL
from tilsvar.reports.daily import DAY, TOTAL, unpack
from tilsvar.reports.kpis import Period
from tilsvar.reports.stats import summary
from tilsvar.settings import get_settings

DIMENSIONS = ("brand", "channel", "team", "agent", "language", "intent", "sentiment")
SUMS = (
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
)
# Upper edges (minutes) of the first-response-time distribution; the target is added as an edge.
FRT_EDGES = (15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1440.0)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which conversations count: always limited to ``brand_ids`` (what the reader may see), and
    optionally to channels, teams, agents (of first reply) and labels."""

    brand_ids: tuple[int, ...]
    channel_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    languages: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = field(default=())

    def conditions(self, table: Any) -> list[ColumnElement[bool]]:
        """Conditions on ``KpiHourly`` or ``KpiConversationFact`` (same dimension columns)."""
        found: list[ColumnElement[bool]] = [table.brand_id.in_(self.brand_ids)]
        for column, values in (
            (table.channel_id, self.channel_ids),
            (table.team_id, self.team_ids),
            (table.agent_id, self.agent_ids),
            (table.language, self.languages),
            (table.intent, self.intents),
            (table.sentiment, self.sentiments),
        ):
            if values:
                found.append(column.in_(values))
        return found

    def as_query(self) -> dict[str, str]:
        """The filter as query parameters (for drill-down links)."""
        values: dict[str, str] = {}
        for name, items in (
            ("channel_id", self.channel_ids),
            ("team_id", self.team_ids),
            ("agent_id", self.agent_ids),
            ("language", self.languages),
            ("intent", self.intents),
            ("sentiment", self.sentiments),
        ):
            if len(items) == 1:
                values[name] = str(items[0])
        return values


def whole_hours(period: Period) -> Period:
    """The period widened to whole UTC hours (rollups are hourly)."""
    start = period.start.replace(minute=0, second=0, microsecond=0)
    end = period.end.replace(minute=0, second=0, microsecond=0)
    if end < period.end:
        end += timedelta(hours=1)
    return Period(start=start, end=end)


def previous_period(period: Period) -> Period:
    length = period.end - period.start
    return Period(start=period.start - length, end=period.start)


def _hourly(period: Period, scope: Scope) -> list[ColumnElement[bool]]:
    return [KpiHourly.hour >= period.start, KpiHourly.hour < period.end, *scope.conditions(KpiHourly)]


def _facts(period: Period, scope: Scope) -> list[ColumnElement[bool]]:
    f = KpiConversationFact
    return [f.hour >= period.start, f.hour < period.end, *scope.conditions(f)]


def _daily(days: Period, scope: Scope, dimension: str = TOTAL) -> list[ColumnElement[bool]]:
    d = KpiDaily
    found: list[ColumnElement[bool]] = [
        d.day >= days.start,
        d.day < days.end,
        d.dimension == dimension,
        d.brand_id.in_(scope.brand_ids),
    ]
    if scope.channel_ids:
        found.append(d.channel_id.in_(scope.channel_ids))
    if scope.team_ids:
        found.append(d.team_id.in_(scope.team_ids))
    return found


def _labels_filtered(scope: Scope) -> bool:
    return bool(scope.agent_ids or scope.languages or scope.intents or scope.sentiments)


def split(period: Period, scope: Scope) -> tuple[Period | None, list[Period]]:
    """The whole UTC days of ``period`` (None when there are none, or the scope filters on labels) and
    the parts around them, read hour by hour."""
    first = period.start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < period.start:
        first += DAY
    last = period.end.replace(hour=0, minute=0, second=0, microsecond=0)
    if _labels_filtered(scope) or first >= last:
        return None, [period]
    edges = [
        part
        for part in (Period(start=period.start, end=first), Period(start=last, end=period.end))
        if part.start < part.end
    ]
    return Period(start=first, end=last), edges


def totals(session: Session, period: Period, scope: Scope) -> dict[str, float]:
    """Every rollup sum over the period."""
    days, edges = split(period, scope)
    found = [0.0] * len(SUMS)
    queries = [
        select(*(func.coalesce(func.sum(getattr(KpiHourly, name)), 0) for name in SUMS)).where(
            *_hourly(part, scope)
        )
        for part in edges
    ]
    if days is not None:
        queries.append(
            select(*(func.coalesce(func.sum(getattr(KpiDaily, name)), 0) for name in SUMS)).where(
                *_daily(days, scope)
            )
        )
    for query in queries:
        for index, value in enumerate(session.execute(query).one()):
            found[index] += float(value or 0)
    return {
        name: (float(value) if name.endswith("_minutes") else int(value))
        for name, value in zip(SUMS, found, strict=True)
    }


def frt_values(session: Session, period: Period, scope: Scope) -> list[tuple[int, int, float]]:
    """(brand, channel, FRT minutes) of every answered inquiry in the period."""
    f = KpiConversationFact
    days, edges = split(period, scope)
    found: list[tuple[int, int, float]] = []
    for part in edges:
        found.extend(
            (brand_id, channel_id, float(minutes or 0.0))
            for brand_id, channel_id, minutes in session.execute(
                select(f.brand_id, f.channel_id, f.frt_minutes).where(
                    *_facts(part, scope), f.is_inquiry.is_(True), f.frt_minutes.is_not(None)
                )
            )
        )
    if days is not None:
        for brand_id, channel_id, blob in session.execute(
            select(KpiDaily.brand_id, KpiDaily.channel_id, KpiDaily.frt_values).where(*_daily(days, scope))
        ):
            found.extend((brand_id, channel_id, value) for value in unpack(blob))
    return found


def next_response_values(session: Session, period: Period, scope: Scope) -> list[float]:
    """Every next-response time (minutes) of the inquiries counted in the period."""
    f = KpiConversationFact
    days, edges = split(period, scope)
    found: list[float] = []
    for part in edges:
        found.extend(
            float(value)
            for value in session.scalars(
                select(KpiResponseFact.minutes)
                .join(f, f.conversation_id == KpiResponseFact.conversation_id)
                .where(*_facts(part, scope), f.is_inquiry.is_(True))
            )
        )
    if days is not None:
        for blob in session.scalars(select(KpiDaily.next_values).where(*_daily(days, scope))):
            found.extend(unpack(blob))
    return found


def oldest_unanswered(session: Session, period: Period, scope: Scope) -> datetime | None:
    """When the oldest inquiry of the period that is still unanswered came in."""
    f = KpiConversationFact
    days, edges = split(period, scope)
    candidates = [
        session.scalar(
            select(func.min(f.first_inbound_at)).where(
                *_facts(part, scope), f.is_inquiry.is_(True), f.first_response_at.is_(None)
            )
        )
        for part in edges
    ]
    if days is not None:
        candidates.append(
            session.scalar(select(func.min(KpiDaily.oldest_unanswered_at)).where(*_daily(days, scope)))
        )
    present = [value for value in candidates if value is not None]
    return min(present) if present else None


def _block(inquiries: int, answered: int, frts: list[float], target: float) -> dict[str, Any]:
    return {
        "inquiries": inquiries,
        "answered": answered,
        "answer_rate": answered / inquiries if inquiries else 0.0,
        "unanswered": inquiries - answered,
        "first_response_minutes": summary(frts, target=target),
    }


def kpi_report(
    session: Session,
    *,
    period: Period,
    scope: Scope,
    target_minutes: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The KPI report (the JSON of KPIS.md, as ``kpis.compute_report``) from rollups and facts."""
    settings = get_settings()
    target = target_minutes if target_minutes is not None else settings.first_response_target_minutes
    now = now or utcnow()
    days, edges = split(period, scope)
    count_columns = ("inquiries", "answered", "csat_sent", "csat_happy", "csat_neutral", "csat_sad")
    count_queries = [
        select(
            KpiHourly.brand_id,
            KpiHourly.channel_id,
            *(func.sum(getattr(KpiHourly, name)) for name in count_columns),
        )
        .where(*_hourly(part, scope))
        .group_by(KpiHourly.brand_id, KpiHourly.channel_id)
        for part in edges
    ]
    if days is not None:
        count_queries.append(
            select(
                KpiDaily.brand_id,
                KpiDaily.channel_id,
                *(func.sum(getattr(KpiDaily, name)) for name in count_columns),
            )
            .where(*_daily(days, scope))
            .group_by(KpiDaily.brand_id, KpiDaily.channel_id)
        )
    counts = [row for query in count_queries for row in session.execute(query).all()]
    frts = frt_values(session, period, scope)
    by_channel_counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_brand_counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    csat = [0, 0, 0, 0]
    for brand_id, channel_id, inquiries, answered, sent, happy, neutral, sad in counts:
        for bucket, key in ((by_channel_counts, channel_id), (by_brand_counts, brand_id)):
            bucket[key][0] += int(inquiries or 0)
            bucket[key][1] += int(answered or 0)
        for index, value in enumerate((sent, happy, neutral, sad)):
            csat[index] += int(value or 0)
    frt_by_channel: dict[int, list[float]] = defaultdict(list)
    frt_by_brand: dict[int, list[float]] = defaultdict(list)
    for brand_id, channel_id, minutes in frts:
        frt_by_channel[channel_id].append(minutes)
        frt_by_brand[brand_id].append(minutes)
    total_inquiries = sum(value[0] for value in by_brand_counts.values())
    total_answered = sum(value[1] for value in by_brand_counts.values())
    data: dict[str, Any] = {"period": {"from": period.start.isoformat(), "to": period.end.isoformat()}}
    data.update(_block(total_inquiries, total_answered, [value[2] for value in frts], target))
    oldest = oldest_unanswered(session, period, scope)
    as_of = min(now, period.end)
    data["oldest_unanswered"] = {
        "since": oldest.isoformat() if oldest else None,
        "age_minutes": max((as_of - oldest).total_seconds() / 60, 0.0) if oldest else 0.0,
        "as_of": as_of.isoformat(),
    }
    next_responses = next_response_values(session, period, scope)
    data["next_response_minutes"] = {
        key: value for key, value in summary(next_responses).items() if key in {"count", "median", "p90"}
    }
    sent, happy, neutral, sad = csat
    responses = happy + neutral + sad
    data["csat"] = {
        "happy": happy,
        "neutral": neutral,
        "sad": sad,
        "responses": responses,
        "happy_share": happy / responses if responses else 0.0,
        "target": settings.csat_target,
        "surveys_sent": sent,
        "response_rate": responses / sent if sent else 0.0,
    }
    channels = {
        channel.id: channel
        for channel in session.scalars(select(Channel).where(Channel.id.in_(list(by_channel_counts))))
    }
    data["by_channel"] = sorted(
        (
            {
                "platform": channels[cid].platform,
                "account": channels[cid].account,
                **_block(inquiries, answered, frt_by_channel[cid], target),
            }
            for cid, (inquiries, answered) in by_channel_counts.items()
            if inquiries
        ),
        key=lambda row: (-row["inquiries"], row["platform"], row["account"]),
    )
    brand_names = dict(
        session.execute(select(Brand.id, Brand.name).where(Brand.id.in_(list(by_brand_counts)))).all()
    )
    data["by_brand"] = sorted(
        (
            {
                "brand_id": bid,
                "brand": brand_names[bid],
                **_block(inquiries, answered, frt_by_brand[bid], target),
            }
            for bid, (inquiries, answered) in by_brand_counts.items()
            if inquiries
        ),
        key=lambda row: (-row["inquiries"], row["brand"]),
    )
    return data


def _dimension_column(name: str) -> Any:
    return getattr(
        KpiHourly,
        {"brand": "brand_id", "channel": "channel_id", "team": "team_id", "agent": "agent_id"}.get(
            name, name
        ),
    )


def labels_for(session: Session, dimension: str, keys: Sequence[Any]) -> dict[Any, str]:
    """Display names of dimension values (brand, channel, team and agent ids; labels as they are)."""
    if dimension == "brand":
        return dict(session.execute(select(Brand.id, Brand.name).where(Brand.id.in_(keys))).all())
    if dimension == "channel":
        return {
            cid: name or f"{platform}: {account}"
            for cid, platform, name, account in session.execute(
                select(Channel.id, Channel.platform, Channel.name, Channel.account).where(
                    Channel.id.in_(keys)
                )
            )
        }
    if dimension == "team":
        names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(keys))).all())
        return {key: names.get(key, "No team") for key in keys}
    if dimension == "agent":
        names = dict(session.execute(select(User.id, User.name).where(User.id.in_(keys))).all())
        return {key: names.get(key, "Not a Tilsvar user" if key == 0 else f"user {key}") for key in keys}
    return {key: (key or "unknown") for key in keys}


BREAKDOWN_SUMS = (
    "conversations",
    "inquiries",
    "answered",
    "frt_sum_minutes",
    "messages_in",
    "pii_messages",
    "hidden_messages",
    "flagged_messages",
)


def breakdown(session: Session, period: Period, scope: Scope, dimension: str) -> list[dict[str, Any]]:
    """Inquiries, answers, mean FRT and the other sums per value of one dimension, largest first."""
    column = _dimension_column(dimension)
    days, edges = split(period, scope)
    merged: dict[Any, list[float]] = defaultdict(lambda: [0.0] * len(BREAKDOWN_SUMS))

    def add(key: Any, values: Sequence[Any]) -> None:
        target = merged[key]
        for index, value in enumerate(values):
            target[index] += float(value or 0)

    for part in edges:
        for key, *values in session.execute(
            select(column, *(func.sum(getattr(KpiHourly, name)) for name in BREAKDOWN_SUMS))
            .where(*_hourly(part, scope))
            .group_by(column)
        ):
            add(key, values)
    if days is not None:
        if dimension in {"brand", "channel", "team"}:
            key_column = getattr(KpiDaily, f"{dimension}_id")
            conditions = _daily(days, scope)
        else:
            key_column = KpiDaily.value
            conditions = _daily(days, scope, dimension)
        for key, *values in session.execute(
            select(key_column, *(func.sum(getattr(KpiDaily, name)) for name in BREAKDOWN_SUMS))
            .where(*conditions)
            .group_by(key_column)
        ):
            add(int(key) if dimension == "agent" else key, values)
    rows = [(key, *values) for key, values in merged.items()]
    names = labels_for(session, dimension, [row[0] for row in rows])
    result = [
        {
            "key": key,
            "label": names.get(key, str(key)),
            "conversations": int(conversations or 0),
            "inquiries": int(inquiries or 0),
            "answered": int(answered or 0),
            "answer_rate": (int(answered or 0) / int(inquiries)) if inquiries else 0.0,
            "frt_mean_minutes": (float(frt_sum or 0) / int(answered)) if answered else 0.0,
            "messages_in": int(messages_in or 0),
            "pii_messages": int(pii or 0),
            "hidden_messages": int(hidden or 0),
            "flagged_messages": int(flagged or 0),
        }
        for key, conversations, inquiries, answered, frt_sum, messages_in, pii, hidden, flagged in rows
    ]
    result.sort(key=lambda row: (-row["inquiries"], -row["conversations"], str(row["label"])))
    return result


def series(
    session: Session, period: Period, scope: Scope, *, by: str | None = None, bucket_hours: int | None = None
) -> dict[str, Any]:
    """Inquiries and answers per time bucket (hours for short periods, days otherwise), optionally
    split by one dimension: ``{"labels": [...], "inquiries": [...], "answered": [...], "by": [...]}``."""
    length_hours = int((period.end - period.start).total_seconds() // 3600)
    step = bucket_hours or (1 if length_hours <= 48 else 24)
    starts = [period.start + timedelta(hours=step * index) for index in range(math.ceil(length_hours / step))]
    index_of = {start: position for position, start in enumerate(starts)}

    def bucket(hour: datetime) -> int:
        offset = int((hour - period.start).total_seconds() // 3600) // step
        return index_of[starts[min(offset, len(starts) - 1)]]

    days, edges = split(period, scope)
    # Whole days in daily buckets read the daily rollup; anything else the hourly one.
    daily = days is not None and not edges and step % 24 == 0 and by in {None, "brand", "channel", "team"}
    table: Any = KpiDaily if daily else KpiHourly
    time_column = KpiDaily.day if daily else KpiHourly.hour
    conditions = _daily(period, scope) if daily else _hourly(period, scope)
    inquiries = [0] * len(starts)
    answered = [0] * len(starts)
    frt_sum = [0.0] * len(starts)
    for hour, inq, ans, frt in session.execute(
        select(
            time_column,
            func.sum(table.inquiries),
            func.sum(table.answered),
            func.sum(table.frt_sum_minutes),
        )
        .where(*conditions)
        .group_by(time_column)
    ):
        position = bucket(hour)
        inquiries[position] += int(inq or 0)
        answered[position] += int(ans or 0)
        frt_sum[position] += float(frt or 0)
    result: dict[str, Any] = {
        "bucket_hours": step,
        "labels": [start.isoformat() for start in starts],
        "inquiries": inquiries,
        "answered": answered,
        "frt_mean_minutes": [
            round(total / count, 2) if count else None for total, count in zip(frt_sum, answered, strict=True)
        ],
    }
    if by:
        column = getattr(KpiDaily, f"{by}_id") if daily else _dimension_column(by)
        parts: dict[Any, list[int]] = defaultdict(lambda: [0] * len(starts))
        for hour, key, inq in session.execute(
            select(time_column, column, func.sum(table.inquiries))
            .where(*conditions)
            .group_by(time_column, column)
        ):
            parts[key][bucket(hour)] += int(inq or 0)
        names = labels_for(session, by, list(parts))
        result["by"] = sorted(
            (
                {"key": key, "label": names.get(key, str(key)), "data": values}
                for key, values in parts.items()
            ),
            key=lambda row: (-sum(row["data"]), str(row["label"])),
        )
    return result


def frt_distribution(values: Sequence[float], target: float) -> dict[str, Any]:
    """How many answered inquiries fall in each FRT band; bands end at round times and the target."""
    edges = sorted({*FRT_EDGES, float(target)})
    ordered = sorted(values)
    at_or_below = [bisect_right(ordered, edge) for edge in edges]
    counts = [
        below - (at_or_below[position - 1] if position else 0) for position, below in enumerate(at_or_below)
    ] + [len(ordered) - (at_or_below[-1] if at_or_below else 0)]
    labels = [f"≤ {_minutes_label(edge)}" for edge in edges] + [f"> {_minutes_label(edges[-1])}"]
    return {
        "labels": labels,
        "counts": counts,
        "within_target": [edge <= target for edge in edges] + [False],
        "target": target,
    }


def _minutes_label(minutes: float) -> str:
    if minutes < 60 or minutes % 60:
        return f"{minutes:g} min"
    if minutes < 1440 or minutes % 1440:
        return f"{minutes / 60:g} h"
    return f"{minutes / 1440:g} d"


def waiting_now(session: Session, scope: Scope) -> dict[str, Any]:
    """Conversations waiting for the brand right now and the oldest wait (live, not rolled up): the
    inbox's *Unanswered* view (``waiting_since`` set, not resolved or closed), counted from the partial
    index ``ix_conversations_open_waiting`` alone (the condition is written as the index's own)."""
    query = select(func.count(), func.min(Conversation.waiting_since)).where(
        Conversation.brand_id.in_(scope.brand_ids), text(OPEN_WAITING_SQL)
    )
    if scope.channel_ids:
        query = query.where(Conversation.channel_id.in_(scope.channel_ids))
    if scope.team_ids:
        query = query.where(Conversation.team_id.in_(scope.team_ids))
    count, oldest = session.execute(query).one()
    now = utcnow()
    return {
        "count": int(count or 0),
        "oldest_since": oldest.isoformat() if oldest else None,
        "oldest_minutes": round(max((now - oldest).total_seconds() / 60, 0.0), 1) if oldest else 0.0,
    }


def comparison(current: float, previous: float) -> dict[str, Any]:
    """Change from the previous period: absolute and relative (None when it was zero)."""
    return {
        "previous": previous,
        "change": current - previous,
        "relative": (current - previous) / previous if previous else None,
    }


def summary_block(session: Session, period: Period, scope: Scope, target: float) -> dict[str, Any]:
    """The headline numbers of a period (KPIs, sums, CSAT, SLA) and its FRT distribution."""
    sums = totals(session, period, scope)
    frts = [value for _, _, value in frt_values(session, period, scope)]
    frt = summary(frts, target=target)
    csat_answers = sums["csat_happy"] + sums["csat_neutral"] + sums["csat_sad"]
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "inquiries": sums["inquiries"],
        "answered": sums["answered"],
        "answer_rate": sums["answered"] / sums["inquiries"] if sums["inquiries"] else 0.0,
        "unanswered": sums["inquiries"] - sums["answered"],
        "first_response_minutes": frt,
        "frt_distribution": frt_distribution(frts, target),
        "resolution_mean_minutes": (
            sums["resolution_sum_minutes"] / sums["resolved"] if sums["resolved"] else 0.0
        ),
        "messages_in": sums["messages_in"],
        "messages_out": sums["messages_out"],
        "moderation": {"hidden": sums["hidden_messages"], "flagged": sums["flagged_messages"]},
        "personal_data": {"messages": sums["pii_messages"], "conversations": sums["pii_conversations"]},
        "csat": {
            "available": sums["csat_sent"] > 0,
            "surveys_sent": sums["csat_sent"],
            "happy": sums["csat_happy"],
            "neutral": sums["csat_neutral"],
            "sad": sums["csat_sad"],
            "responses": csat_answers,
            "happy_share": sums["csat_happy"] / csat_answers if csat_answers else 0.0,
            "target": get_settings().csat_target,
        },
        "sla": {
            "available": sums["sla_measured"] > 0,
            "measured": sums["sla_measured"],
            "breached": sums["sla_breached"],
            "attainment": (1 - sums["sla_breached"] / sums["sla_measured"] if sums["sla_measured"] else None),
        },
    }


def with_scope(scope: Scope, **changes: Any) -> Scope:
    return replace(scope, **changes)


def drill_conversations(
    session: Session,
    *,
    period: Period,
    scope: Scope,
    answered: bool | None = None,
    inquiries_only: bool = True,
    pii: bool = False,
    moderated: bool = False,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The conversations behind a number (newest first), for drill-down and the analysts' export."""
    f = KpiConversationFact
    conditions = _facts(period, scope)
    if inquiries_only:
        conditions.append(f.is_inquiry.is_(True))
    if answered is True:
        conditions.append(f.first_response_at.is_not(None))
    elif answered is False:
        conditions.append(and_(f.is_inquiry.is_(True), f.first_response_at.is_(None)))
    if pii:
        conditions.append(f.pii_messages > 0)
    if moderated:
        conditions.append((f.hidden_messages + f.flagged_messages) > 0)
    rows = session.execute(
        select(f, Conversation.status, Conversation.preview, Conversation.subject)
        .join(Conversation, Conversation.id == f.conversation_id)
        .where(*conditions)
        .order_by(f.hour.desc(), f.conversation_id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "fact": row[0],
            "status": row[1],
            "preview": row[2],
            "subject": row[3],
        }
        for row in rows
    ]
