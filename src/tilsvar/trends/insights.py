"""Insights for product teams: what customers write about over time — by intent (the pipeline's label)
and by detected cluster (the chorus detector's label) — per channel and sentiment, as rows that export
to CSV or JSON (``GET /api/v1/insights/topics``, ``tilsvar trends --topics``) and as the summary the
weekly report includes (``topics_summary``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.models import Channel, Conversation, Message
from tilsvar.models.knowledge import TrendCluster, TrendMember
from tilsvar.reports.kpis import Period

Granularity = Literal["day", "week", "hour"]
TopicKind = Literal["intent", "cluster"]
CSV_COLUMNS = ("bucket", "topic_kind", "topic", "platform", "sentiment", "messages")


def _bucket(at: datetime, granularity: Granularity) -> str:
    if granularity == "hour":
        return at.strftime("%Y-%m-%dT%H:00Z")
    if granularity == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    return at.strftime("%Y-%m-%d")


def topic_rows(
    session: Session,
    *,
    period: Period,
    brand_ids: list[int],
    by: TopicKind = "intent",
    granularity: Granularity = "day",
    min_cluster_size: int = 3,
) -> list[dict[str, Any]]:
    """Inbound customer messages counted per (time bucket, topic, platform, sentiment). ``by=cluster``
    counts messages of clusters with at least ``min_cluster_size`` messages under the cluster's label
    (smaller ones under "other")."""
    query = (
        select(
            Message.created_at, Message.intent, Message.sentiment, Channel.platform, TrendMember.cluster_id
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Channel, Channel.id == Message.channel_id)
        .outerjoin(TrendMember, TrendMember.message_id == Message.id)
        .where(
            Conversation.brand_id.in_(brand_ids),
            Message.direction == "in",
            Message.created_at >= period.start,
            Message.created_at < period.end,
        )
    )
    rows = session.execute(query).all()
    labels: dict[int, str] = {}
    if by == "cluster":
        cluster_ids = {row[4] for row in rows if row[4] is not None}
        labels = {
            cluster_id: label or f"cluster {cluster_id}"
            for cluster_id, label, size in session.execute(
                select(TrendCluster.id, TrendCluster.label, TrendCluster.size).where(
                    TrendCluster.id.in_(cluster_ids)
                )
            )
            if size >= min_cluster_size
        }
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for created_at, intent, sentiment, platform, cluster_id in rows:
        if by == "cluster":
            topic = labels.get(cluster_id, "other") if cluster_id is not None else "other"
        else:
            topic = intent or "unknown"
        counts[(_bucket(created_at, granularity), topic, platform, sentiment or "unknown")] += 1
    return [
        {
            "bucket": bucket,
            "topic_kind": by,
            "topic": topic,
            "platform": platform,
            "sentiment": sentiment,
            "messages": count,
        }
        for (bucket, topic, platform, sentiment), count in sorted(counts.items())
    ]


def rows_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def topics_summary(
    session: Session, period: Period, brand_ids: list[int], *, top: int = 10
) -> dict[str, Any]:
    """For the weekly report: the period's top topics by intent and by cluster, each with its message
    count, share of negative messages, platforms, and the change against the previous period of the
    same length."""
    previous = Period(start=period.start - (period.end - period.start), end=period.start)
    summary: dict[str, Any] = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    for by in ("intent", "cluster"):
        kind: TopicKind = "intent" if by == "intent" else "cluster"
        now_rows = topic_rows(session, period=period, brand_ids=brand_ids, by=kind, granularity="week")
        before_rows = topic_rows(session, period=previous, brand_ids=brand_ids, by=kind, granularity="week")
        totals: Counter[str] = Counter()
        negative: Counter[str] = Counter()
        platforms: dict[str, Counter[str]] = defaultdict(Counter)
        for row in now_rows:
            totals[row["topic"]] += row["messages"]
            platforms[row["topic"]][row["platform"]] += row["messages"]
            if row["sentiment"] == "negative":
                negative[row["topic"]] += row["messages"]
        before: Counter[str] = Counter()
        for row in before_rows:
            before[row["topic"]] += row["messages"]
        summary[f"by_{by}"] = [
            {
                "topic": topic,
                "messages": count,
                "previous": before.get(topic, 0),
                "change": count - before.get(topic, 0),
                "negative_share": round(negative[topic] / count, 3) if count else 0.0,
                "platforms": dict(platforms[topic].most_common()),
            }
            for topic, count in totals.most_common(top)
            if not (by == "cluster" and topic == "other")
        ]
    return summary
