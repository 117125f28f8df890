"""What the dashboard and the wall screens show, as JSON-ready dicts: headline KPIs with the change from
the previous period, the first-response distribution against the target, who is waiting now, SLA and
CSAT, volume over time and by brand, channel, team and agent, the sentiment, intent and language mix,
moderation and personal-data incidents, and drill-down links to the conversations behind each number.

The wall-screen variant carries no personal data: no customer names or texts, and no agent names.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsvar.models import AnalyticsCursor, DomainEvent
from tilsvar.reports.engine import (
    Scope,
    breakdown,
    comparison,
    previous_period,
    series,
    summary_block,
    waiting_now,
)
from tilsvar.reports.kpis import Period
from tilsvar.reports.rollups import CURSOR
from tilsvar.settings import get_settings


def default_days(today: date) -> tuple[date, date]:
    """The last seven days, today included."""
    return today - timedelta(days=6), today


def drill_url(period: Period, scope: Scope, **more: Any) -> str:
    """The conversations behind a number, in the web UI."""
    params: dict[str, Any] = {
        "from": period.start.date().isoformat(),
        "to": (period.end - timedelta(seconds=1)).date().isoformat(),
        **scope.as_query(),
    }
    if len(scope.brand_ids) == 1:
        params["brand_id"] = scope.brand_ids[0]
    params.update({key: value for key, value in more.items() if value is not None})
    return "/dashboard/conversations?" + urlencode(params)


def _with_links(
    rows: list[dict[str, Any]], period: Period, scope: Scope, parameter: str
) -> list[dict[str, Any]]:
    for row in rows:
        row["url"] = drill_url(period, scope, **{parameter: row["key"]})
    return rows


_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 64


def _rollup_state(session: Session) -> tuple[int, int]:
    """Changes whenever the figures may have: the rollup cursor and the end of the event log."""
    position = session.scalar(select(AnalyticsCursor.position).where(AnalyticsCursor.name == CURSOR))
    latest = session.scalar(select(func.max(DomainEvent.id)))
    return int(position or 0), int(latest or 0)


def dashboard_data(
    session: Session,
    *,
    period: Period,
    scope: Scope,
    target_minutes: float | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """The dashboard's figures. Everything but ``waiting_now`` (always read live) is kept for as long
    as the rollups and the event log stay where they were, so a room of people opening the same
    view costs one computation."""
    target = target_minutes if target_minutes is not None else get_settings().first_response_target_minutes
    key = (period, scope, target, _rollup_state(session))
    cached = None
    if use_cache:
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
    if cached is not None:
        return {**cached, "waiting_now": waiting_now(session, scope)}
    data = _compute(session, period=period, scope=scope, target=target)
    with _cache_lock:
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data


_json_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()


def dashboard_json(
    session: Session, *, period: Period, scope: Scope, target_minutes: float | None = None
) -> bytes:
    """``dashboard_data`` as the API's JSON body. The body of the cached figures is itself kept (so a
    request that finds it serialises only "waiting now", read live), as long as the rollups and the
    event log stay where they were."""
    target = target_minutes if target_minutes is not None else get_settings().first_response_target_minutes
    key = (period, scope, target, _rollup_state(session))
    with _cache_lock:
        body = _json_cache.get(key)
        if body is not None:
            _json_cache.move_to_end(key)
    if body is None:
        data = dashboard_data(session, period=period, scope=scope, target_minutes=target)
        body = json.dumps(
            {name: value for name, value in data.items() if name != "waiting_now"},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        with _cache_lock:
            _json_cache[key] = body
            while len(_json_cache) > CACHE_SIZE:
                _json_cache.popitem(last=False)
    live = json.dumps(waiting_now(session, scope), separators=(",", ":")).encode()
    return body[:-1] + b',"waiting_now":' + live + b"}"


def _compute(session: Session, *, period: Period, scope: Scope, target: float) -> dict[str, Any]:
    before = previous_period(period)
    current = summary_block(session, period, scope, target)
    previous = summary_block(session, before, scope, target)
    frt, frt_before = current["first_response_minutes"], previous["first_response_minutes"]
    current["links"] = {
        "inquiries": drill_url(period, scope),
        "answered": drill_url(period, scope, answered="1"),
        "unanswered": drill_url(period, scope, answered="0"),
        "personal_data": drill_url(period, scope, pii="1"),
        "moderation": drill_url(period, scope, moderated="1"),
    }
    return {
        "period": current["period"],
        "previous_period": previous["period"],
        "target": target,
        "current": current,
        "previous": previous,
        "compare": {
            "inquiries": comparison(current["inquiries"], previous["inquiries"]),
            "answered": comparison(current["answered"], previous["answered"]),
            "answer_rate": comparison(current["answer_rate"], previous["answer_rate"]),
            "frt_median": comparison(frt["median"], frt_before["median"]),
            "frt_p90": comparison(frt["p90"], frt_before["p90"]),
            "within_target": comparison(frt["within_target"], frt_before["within_target"]),
            "personal_data": comparison(
                current["personal_data"]["messages"], previous["personal_data"]["messages"]
            ),
            "hidden": comparison(current["moderation"]["hidden"], previous["moderation"]["hidden"]),
        },
        "waiting_now": waiting_now(session, scope),
        "series": series(session, period, scope, by="channel"),
        "by_brand": _with_links(breakdown(session, period, scope, "brand"), period, scope, "brand_id"),
        "by_channel": _with_links(breakdown(session, period, scope, "channel"), period, scope, "channel_id"),
        "by_team": _with_links(breakdown(session, period, scope, "team"), period, scope, "team_id"),
        "by_agent": _with_links(breakdown(session, period, scope, "agent")[:15], period, scope, "agent_id"),
        "sentiment": _with_links(breakdown(session, period, scope, "sentiment"), period, scope, "sentiment"),
        "intent": _with_links(breakdown(session, period, scope, "intent"), period, scope, "intent"),
        "language": _with_links(breakdown(session, period, scope, "language"), period, scope, "language"),
        "top_topics": [
            row
            for row in _with_links(breakdown(session, period, scope, "intent"), period, scope, "intent")
            if row["key"]
        ][:8],
    }


def wall_data(session: Session, *, scope: Scope, now: datetime, title: str) -> dict[str, Any]:
    """Numbers for an office screen: the last 24 hours (whole hours, so a screen never drops to zero at
    midnight), compared with the 24 hours before.

    Only counts, rates, times, brand and channel names and topic labels: nothing about a person."""
    settings = get_settings()
    target = settings.first_response_target_minutes
    hour = now.replace(minute=0, second=0, microsecond=0)
    today = Period(start=hour - timedelta(hours=23), end=hour + timedelta(hours=1))  # the last 24 hours
    current = summary_block(session, today, scope, target)
    yesterday = summary_block(session, previous_period(today), scope, target)
    last_day = today
    trend = series(session, last_day, scope, bucket_hours=1)

    def plain(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        return [
            {
                "label": row["label"],
                "inquiries": row["inquiries"],
                "answered": row["answered"],
                "answer_rate": row["answer_rate"],
            }
            for row in rows[:limit]
        ]

    return {
        "title": title,
        "as_of": now.isoformat(timespec="seconds"),
        "rotate_seconds": settings.wall_rotate_seconds,
        "target": target,
        "today": {
            "inquiries": current["inquiries"],
            "answered": current["answered"],
            "answer_rate": current["answer_rate"],
            "frt_median": current["first_response_minutes"]["median"],
            "within_target": current["first_response_minutes"]["within_target"],
            "frt_distribution": current["frt_distribution"],
            "csat": {
                key: current["csat"][key]
                for key in ("available", "happy", "neutral", "sad", "happy_share", "target")
            },
            "sla": current["sla"],
        },
        "yesterday": {
            "inquiries": yesterday["inquiries"],
            "answer_rate": yesterday["answer_rate"],
            "frt_median": yesterday["first_response_minutes"]["median"],
        },
        "waiting_now": waiting_now(session, scope),
        "trend": {"labels": trend["labels"], "inquiries": trend["inquiries"], "answered": trend["answered"]},
        "channels": plain(breakdown(session, today, scope, "channel"), 8),
        "topics": plain([row for row in breakdown(session, today, scope, "intent") if row["key"]], 8),
        "sentiment": plain(breakdown(session, today, scope, "sentiment"), 5),
    }
