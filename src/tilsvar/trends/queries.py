"""Read models of chorus detection: the alert list (``tilsvar trends``, ``GET /api/v1/trends``, the
``/trends`` page) and one alert in detail — label, keywords, size, channels, sentiment mix, masked
sample messages, a timeline in message time, and whether it is still rising or cooling down."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.models import Brand, Channel, Conversation, Message, utcnow
from tilsvar.models.knowledge import Incident, IncidentConversation, TrendAlert, TrendCluster, TrendMember

TIMELINE_BUCKET = timedelta(minutes=10)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    kind: str
    brand_id: int
    brand_name: str
    cluster_id: int
    label: str
    keywords: list[str]
    first_seen: datetime
    alerted_at: datetime
    last_seen: datetime
    size: int
    window_size: int
    platforms: list[str]
    sentiments: dict[str, int]
    incident_id: int | None
    escalated_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "brand_id": self.brand_id,
            "label": self.label,
            "keywords": self.keywords,
            "first_seen": _iso(self.first_seen),
            "alerted_at": _iso(self.alerted_at),
            "last_seen": _iso(self.last_seen),
            "size": self.size,
            "window_size": self.window_size,
            "platforms": self.platforms,
            "sentiments": self.sentiments,
            "incident_id": self.incident_id,
            "escalated_at": _iso(self.escalated_at),
        }


def list_alerts(
    session: Session,
    *,
    brand_ids: list[int],
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> list[AlertRow]:
    """Alerts of these brands with ``start <= alerted_at < end`` (message time), newest first."""
    query = (
        select(TrendAlert, TrendCluster, Brand.name)
        .join(TrendCluster, TrendCluster.id == TrendAlert.cluster_id)
        .join(Brand, Brand.id == TrendAlert.brand_id)
        .where(TrendAlert.brand_id.in_(brand_ids))
        .order_by(TrendAlert.alerted_at.desc(), TrendAlert.id.desc())
        .limit(limit)
    )
    if start is not None:
        query = query.where(TrendAlert.alerted_at >= start)
    if end is not None:
        query = query.where(TrendAlert.alerted_at < end)
    return [
        AlertRow(
            id=alert.id,
            kind=alert.kind,
            brand_id=alert.brand_id,
            brand_name=brand_name,
            cluster_id=cluster.id,
            label=cluster.label,
            keywords=list(cluster.keywords or []),
            first_seen=cluster.first_seen,
            alerted_at=alert.alerted_at,
            last_seen=cluster.last_seen,
            size=cluster.size,
            window_size=alert.window_size,
            platforms=sorted(cluster.platforms or {}),
            sentiments=dict(cluster.sentiments or {}),
            incident_id=alert.incident_id,
            escalated_at=alert.escalated_at,
        )
        for alert, cluster, brand_name in session.execute(query)
    ]


def cluster_external_ids(session: Session, cluster_ids: list[int]) -> dict[int, list[str]]:
    """The platform ids of each cluster's messages, in message-time order."""
    result: dict[int, list[str]] = {cluster_id: [] for cluster_id in cluster_ids}
    for cluster_id, external_id in session.execute(
        select(TrendMember.cluster_id, Message.external_id)
        .join(Message, Message.id == TrendMember.message_id)
        .where(TrendMember.cluster_id.in_(cluster_ids))
        .order_by(TrendMember.at, TrendMember.message_id)
    ):
        if cluster_id is not None and external_id:
            result[cluster_id].append(external_id)
    return result


def trends_json(
    session: Session, *, brand_ids: list[int], start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """INTERFACES.md's ``tilsvar trends --format json``: one object per alert, oldest first."""
    rows = list(reversed(list_alerts(session, brand_ids=brand_ids, start=start, end=end, limit=100_000)))
    ids = cluster_external_ids(session, sorted({row.cluster_id for row in rows}))
    return [
        {
            "id": row.id,
            "label": row.label,
            "first_seen": _iso(row.first_seen),
            "alerted_at": _iso(row.alerted_at),
            "message_ids": ids.get(row.cluster_id, []),
            "platforms": row.platforms,
            "size": row.size,
            "kind": row.kind,
            "keywords": row.keywords,
        }
        for row in rows
    ]


def alert_state(row: AlertRow, *, window: timedelta, cooldown: timedelta, recent: int, now: datetime) -> str:
    """``rising`` while the cluster still grows at alert pace, ``cooling`` until it has been quiet for
    the cool-down, then ``over``."""
    if now - row.last_seen <= window and recent >= max(row.window_size // 2, 2):
        return "rising"
    if now - row.last_seen <= cooldown:
        return "cooling"
    return "over"


def alert_detail(
    session: Session, *, alert_id: int, brand_ids: list[int], window: timedelta, cooldown: timedelta
) -> dict[str, Any] | None:
    """Everything the alert page shows; None when the alert does not exist or is not visible."""
    rows = [row for row in list_alerts(session, brand_ids=brand_ids, limit=100_000) if row.id == alert_id]
    if not rows:
        return None
    row = rows[0]
    members = session.execute(
        select(
            TrendMember.at,
            Message.id,
            Message.conversation_id,
            Message.text,
            Message.redacted_text,
            Message.has_pii,
            Message.sentiment,
            Message.language,
            Message.author_name,
            Channel.platform,
        )
        .join(Message, Message.id == TrendMember.message_id)
        .join(Channel, Channel.id == Message.channel_id)
        .where(TrendMember.cluster_id == row.cluster_id)
        .order_by(TrendMember.at, TrendMember.message_id)
    ).all()
    buckets: Counter[datetime] = Counter()
    for member in members:
        at = member[0]
        bucket = at - timedelta(minutes=at.minute % 10, seconds=at.second, microseconds=at.microsecond)
        buckets[bucket] += 1
    timeline = []
    if buckets:
        cursor, last = min(buckets), max(buckets)
        while cursor <= last:
            timeline.append({"at": _iso(cursor), "count": buckets.get(cursor, 0)})
            cursor += TIMELINE_BUCKET
    now = max(utcnow(), row.last_seen)
    recent = sum(1 for member in members if member[0] > now - window)
    samples = [
        {
            "message_id": member[1],
            "conversation_id": member[2],
            "at": _iso(member[0]),
            # Personal data stays masked here: the redacted text whenever the pipeline found some.
            "text": (member[4] if member[5] and member[4] else member[3])[:500],
            "sentiment": member[6],
            "language": member[7],
            "platform": member[9],
        }
        for member in members[:: max(len(members) // 12, 1)][:12]
    ]
    incident = session.get(Incident, row.incident_id) if row.incident_id else None
    incident_conversations = (
        list(
            session.scalars(
                select(IncidentConversation.conversation_id).where(
                    IncidentConversation.incident_id == incident.id
                )
            )
        )
        if incident
        else []
    )
    waiting = 0
    if incident_conversations:
        waiting = len(
            list(
                session.scalars(
                    select(Conversation.id).where(
                        Conversation.id.in_(incident_conversations), Conversation.waiting_since.is_not(None)
                    )
                )
            )
        )
    languages = Counter(member[7] or "unknown" for member in members)
    return {
        **row.as_json(),
        "brand_name": row.brand_name,
        "state": alert_state(row, window=window, cooldown=cooldown, recent=recent, now=now),
        "languages": dict(languages.most_common()),
        "timeline": timeline,
        "samples": samples,
        "conversation_count": len({member[2] for member in members}),
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "status": incident.status,
            "conversations": len(incident_conversations),
            "waiting": waiting,
        }
        if incident
        else None,
    }
