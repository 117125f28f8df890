"""Writes of chorus and shitstorm detection: feed analysed customer messages to the detector
(``trends.engine``) and persist its clusters, members and alerts; and what people do from an alert —
open an incident that links all its conversations, answer them together with a personalised reply,
escalate to the press team.

Messages are fed per brand in message-time order, under a per-brand lock (PostgreSQL advisory lock;
SQLite serialises writers anyway), and each message once (``trend_members`` remembers it), so a job
that runs twice, or history imported after the fact, gives the alerts live traffic gave.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.timeline import notify
from tilsvar.events import Event, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Channel, Conversation, Identity, Message, User, UserBrand, utcnow
from tilsvar.models.knowledge import Incident, IncidentConversation, TrendAlert, TrendCluster, TrendMember
from tilsvar.settings import Settings, get_settings
from tilsvar.trends.engine import Alert, Cluster, Detector, Member, Observation, Params

ADVISORY_LOCK = 771_077


class TrendAlertRaised(Event):
    """A chorus or shitstorm alert (message time ``alerted_at``); live views and notifications."""

    type: ClassVar[str] = "trends.alert"
    alert_id: int
    kind: str
    label: str
    size: int


def params_from(settings: Settings) -> Params:
    return Params(
        window=timedelta(minutes=settings.trends_window_minutes),
        similarity=settings.trends_similarity,
        min_size=settings.trends_min_size,
        min_authors=settings.trends_min_authors,
        sensitivity=settings.trends_sensitivity,
        baseline=timedelta(hours=settings.trends_baseline_hours),
        floor_per_hour=settings.trends_floor_per_hour,
        cooldown=timedelta(hours=settings.trends_cooldown_hours),
        negative_share=settings.trends_negative_share,
    )


def enqueue_observation(session: Session, *, message_ids: Iterable[int]) -> None:
    """Hook after analysis is stored: have the detector look at these messages (a job, off the
    pipeline's path)."""
    ids = sorted(set(message_ids))
    if ids and get_settings().trends_enabled:
        enqueue(session, queue="trends", kind="trends.observe", payload={"message_ids": ids})


def do_observe_messages(
    session: Session, *, message_ids: Iterable[int], params: Params | None = None
) -> list[int]:
    """Feed the inbound customer messages among ``message_ids`` that the detector has not seen to it;
    returns the ids of the alerts raised."""
    params = params or params_from(get_settings())
    ids = sorted(set(message_ids))
    if not ids:
        return []
    seen = set(session.scalars(select(TrendMember.message_id).where(TrendMember.message_id.in_(ids))))
    rows = session.execute(
        select(
            Message.id,
            Message.created_at,
            Message.text,
            Message.redacted_text,
            Message.kind,
            Message.sentiment,
            Message.author_identity_id,
            Message.author_name,
            Channel.platform,
            Conversation.brand_id,
            Conversation.organization_id,
        )
        .join(Channel, Channel.id == Message.channel_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_([i for i in ids if i not in seen]), Message.direction == "in")
    ).all()
    by_brand: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_brand[row.brand_id].append(row)
    alert_ids: list[int] = []
    for brand_id in sorted(by_brand):
        alert_ids += _observe_brand(session, brand_id, by_brand[brand_id], params)
    return alert_ids


def _lock_brand(session: Session, brand_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": ADVISORY_LOCK, "b": brand_id})


def _observe_brand(session: Session, brand_id: int, rows: list[Any], params: Params) -> list[int]:
    _lock_brand(session, brand_id)
    rows = sorted(rows, key=lambda row: (row.created_at, row.id))
    organization_id = rows[0].organization_id
    horizon = rows[0].created_at - params.baseline - params.window
    stored = list(
        session.scalars(
            select(TrendCluster).where(TrendCluster.brand_id == brand_id, TrendCluster.last_seen >= horizon)
        )
    )
    members: dict[int, list[Member]] = defaultdict(list)
    traffic: list[datetime] = []
    for message_id, cluster_id, at, author, negative, public in session.execute(
        select(
            TrendMember.message_id,
            TrendMember.cluster_id,
            TrendMember.at,
            TrendMember.author,
            TrendMember.negative,
            TrendMember.public,
        ).where(TrendMember.brand_id == brand_id, TrendMember.at >= horizon)
    ):
        traffic.append(at)
        if cluster_id is not None:
            members[cluster_id].append(
                Member(message_id=message_id, at=at, author=author, negative=negative, public=public)
            )
    clusters = [_cluster_of(row, members.get(row.id, [])) for row in stored]
    rows_by_id = {row.id: row for row in stored}
    detector = Detector(params, clusters, traffic)
    authors = _authors(session, {row.author_identity_id for row in rows if row.author_identity_id})
    assigned: list[tuple[Any, Cluster | None, str]] = []
    alerts: list[Alert] = []
    for row in rows:
        author = authors.get(row.author_identity_id) or row.author_name or f"message:{row.id}"
        cluster, raised = detector.observe(
            Observation(
                message_id=row.id,
                at=row.created_at,
                text=row.redacted_text or row.text,
                author=author,
                platform=row.platform,
                kind=row.kind,
                sentiment=row.sentiment,
            )
        )
        assigned.append((row, cluster, author))
        alerts += raised
    # Persist the clusters that changed, then members and alerts (which refer to them).
    saved: dict[int, TrendCluster] = {}
    for cluster in detector.clusters:
        if not cluster.changed or cluster.merged_into is not None:
            continue
        row_ = rows_by_id.get(cluster.id) if cluster.id is not None else None
        if row_ is None:
            row_ = TrendCluster(organization_id=organization_id, brand_id=brand_id)
            session.add(row_)
        _store_cluster(row_, cluster)
        saved[id(cluster)] = row_
    session.flush()
    for cluster in detector.clusters:
        if id(cluster) in saved:
            cluster.id = saved[id(cluster)].id
    merged_into = _fold_merged_clusters(session, detector.clusters, rows_by_id)
    conversation_of = dict(
        session.execute(
            select(Message.id, Message.conversation_id).where(
                Message.id.in_([row.id for row, _, _ in assigned])
            )
        ).all()
    )
    for row, cluster, author in assigned:
        session.add(
            TrendMember(
                message_id=row.id,
                brand_id=brand_id,
                cluster_id=cluster.survivor().id if cluster is not None else None,
                at=row.created_at,
                author=author[:320],
                negative=row.sentiment == "negative",
                public=row.kind in ("comment", "post"),
            )
        )
    session.flush()
    # new messages join their cluster's open incidents; after a merge, all the survivor's do
    pairs = [(conversation_of[row.id], cluster.survivor().id) for row, cluster, _ in assigned if cluster]
    pairs += [
        (each, survivor) for survivor in merged_into for each in cluster_conversation_ids(session, survivor)
    ]
    _link_to_open_incidents(session, pairs)
    return [_store_alert(session, organization_id, brand_id, alert) for alert in alerts]


def _fold_merged_clusters(
    session: Session, clusters: list[Cluster], rows_by_id: dict[int, TrendCluster]
) -> set[int]:
    """Stored clusters the detector folded into another hand their members and alerts to the
    survivor and are deleted (their rows cascade). Returns the survivors that took stored members."""
    survivors: set[int] = set()
    for cluster in clusters:
        if cluster.merged_into is None or cluster.id is None:
            continue
        survivor_id = cluster.survivor().id
        assert survivor_id is not None
        session.execute(
            update(TrendMember).where(TrendMember.cluster_id == cluster.id).values(cluster_id=survivor_id)
        )
        session.execute(
            update(TrendAlert).where(TrendAlert.cluster_id == cluster.id).values(cluster_id=survivor_id)
        )
        session.delete(rows_by_id[cluster.id])
        survivors.add(survivor_id)
    session.flush()
    return survivors


def _authors(session: Session, identity_ids: set[int]) -> dict[int, str]:
    if not identity_ids:
        return {}
    return {
        identity_id: f"{platform}:{external_id}"
        for identity_id, platform, external_id in session.execute(
            select(Identity.id, Identity.platform, Identity.external_id).where(Identity.id.in_(identity_ids))
        )
    }


def _cluster_of(row: TrendCluster, members: list[Member]) -> Cluster:
    return Cluster(
        id=row.id,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        size=row.size,
        centroid=dict(row.centroid or {}),
        terms=Counter(row.terms or {}),
        platforms=Counter(row.platforms or {}),
        sentiments=Counter(row.sentiments or {}),
        members=sorted(members, key=lambda m: (m.at, m.message_id)),
        alerted={kind: datetime.fromisoformat(at) for kind, at in (row.alerted or {}).items()},
    )


def _store_cluster(row: TrendCluster, cluster: Cluster) -> None:
    row.first_seen = cluster.first_seen
    row.last_seen = cluster.last_seen
    row.size = cluster.size
    row.centroid = dict(cluster.centroid)
    row.terms = dict(cluster.terms.most_common(200))
    row.platforms = dict(cluster.platforms)
    row.sentiments = dict(cluster.sentiments)
    row.alerted = {kind: at.isoformat() for kind, at in cluster.alerted.items()}
    row.label = cluster.label()[:200]
    row.keywords = cluster.keywords()


def _store_alert(session: Session, organization_id: int, brand_id: int, alert: Alert) -> int:
    cluster = alert.cluster.survivor()  # a later message of the batch may have merged it
    assert cluster.id is not None
    row = TrendAlert(
        organization_id=organization_id,
        brand_id=brand_id,
        cluster_id=cluster.id,
        kind=alert.kind,
        alerted_at=alert.at,
        message_id=alert.message_id,
        window_size=alert.window_size,
        expected=alert.expected,
        details={"label": cluster.label(), "keywords": cluster.keywords()},
    )
    session.add(row)
    session.flush()
    label = cluster.label()
    record_events(
        session,
        [
            TrendAlertRaised(
                organization_id=organization_id,
                brand_id=brand_id,
                alert_id=row.id,
                kind=alert.kind,
                label=label,
                size=alert.window_size,
            )
        ],
    )
    roles = ("press", "admin", "supervisor") if alert.kind == "shitstorm" else ("supervisor", "admin")
    what = "Shitstorm" if alert.kind == "shitstorm" else "Chorus"
    minutes = round(get_settings().trends_window_minutes)
    notify(
        session,
        user_ids=_users_with_roles(session, organization_id, brand_id, roles),
        kind=f"trends.{alert.kind}",
        text=f"{what}: {alert.window_size} messages about “{label}” in {minutes} minutes (/trends/{row.id})",
    )
    audit(
        session,
        action=f"trends.{alert.kind}",
        actor="detector",
        organization_id=organization_id,
        target_type="trend_alert",
        target_id=row.id,
        details={"cluster_id": cluster.id, "window_size": alert.window_size, "expected": alert.expected},
    )
    return row.id


def _users_with_roles(
    session: Session, organization_id: int, brand_id: int, roles: Iterable[str]
) -> list[int]:
    users = session.execute(
        select(User.id, User.all_brands).where(
            User.organization_id == organization_id, User.role.in_(list(roles)), User.is_active.is_(True)
        )
    ).all()
    limited = {uid for uid, all_brands in users if not all_brands}
    allowed = set(
        session.scalars(
            select(UserBrand.user_id).where(UserBrand.user_id.in_(limited), UserBrand.brand_id == brand_id)
        )
    )
    return [uid for uid, all_brands in users if all_brands or uid in allowed]


# -- acting on an alert -----------------------------------------------------------------------------


def cluster_conversation_ids(session: Session, cluster_id: int) -> list[int]:
    return sorted(
        set(
            session.scalars(
                select(Message.conversation_id)
                .join(TrendMember, TrendMember.message_id == Message.id)
                .where(TrendMember.cluster_id == cluster_id)
            )
        )
    )


def _link(session: Session, incident_id: int, conversation_ids: Iterable[int]) -> int:
    have = set(
        session.scalars(
            select(IncidentConversation.conversation_id).where(
                IncidentConversation.incident_id == incident_id
            )
        )
    )
    added = 0
    for conversation_id in sorted(set(conversation_ids) - have):
        session.add(IncidentConversation(incident_id=incident_id, conversation_id=conversation_id))
        added += 1
    return added


def _link_to_open_incidents(session: Session, pairs: list[tuple[int, int | None]]) -> None:
    """New messages of a cluster (conversation id, cluster id) join the open incidents of its alerts
    (a merged cluster may carry the alerts, and incidents, of both its parts)."""
    cluster_ids = {cluster_id for _, cluster_id in pairs if cluster_id is not None}
    if not cluster_ids:
        return
    incidents: dict[int, set[int]] = defaultdict(set)
    for cluster_id, incident_id in session.execute(
        select(TrendAlert.cluster_id, TrendAlert.incident_id)
        .join(Incident, Incident.id == TrendAlert.incident_id)
        .where(TrendAlert.cluster_id.in_(cluster_ids), Incident.status == "open")
    ):
        if incident_id is not None:
            incidents[cluster_id].add(incident_id)
    for conversation_id, member_of in pairs:
        for incident_id in sorted(incidents[member_of]) if member_of in incidents else ():
            _link(session, incident_id, [conversation_id])


def do_open_incident(session: Session, *, user: User, alert: TrendAlert, title: str = "") -> Incident:
    """Link every conversation of the alert's cluster to one incident (the alert's, if it has one)."""
    if alert.incident_id is not None:
        incident = session.get_one(Incident, alert.incident_id)
    else:
        cluster = session.get_one(TrendCluster, alert.cluster_id)
        incident = Incident(
            organization_id=alert.organization_id,
            brand_id=alert.brand_id,
            title=(title.strip() or cluster.label or "Incident")[:300],
            created_by_user_id=user.id,
        )
        session.add(incident)
        session.flush()
        alert.incident_id = incident.id
    added = _link(session, incident.id, cluster_conversation_ids(session, alert.cluster_id))
    session.flush()
    audit(
        session,
        action="incident.opened",
        actor_user=user,
        target_type="incident",
        target_id=incident.id,
        details={"alert_id": alert.id, "conversations_added": added},
    )
    return incident


def personalise(template: str, *, customer_name: str) -> str:
    """``{customer_name}`` becomes the customer's first name (or nothing, tidily)."""
    first = customer_name.strip().split(" ")[0] if customer_name.strip() else ""
    if first:
        return template.replace("{customer_name}", first)
    return template.replace(" {customer_name}", "").replace("{customer_name}", "")


def do_bulk_reply(session: Session, *, user: User, incident: Incident, text_: str) -> dict[str, Any]:
    """Answer every waiting conversation of the incident through the ordinary reply action, each with
    ``{customer_name}`` filled in; conversations that refuse (approval needed, too long for the
    platform) are reported, not failed."""
    from tilsvar.actions.replies import do_reply

    if not text_.strip():
        raise ActionError("a reply needs some text")
    conversation_ids = list(
        session.scalars(
            select(IncidentConversation.conversation_id).where(
                IncidentConversation.incident_id == incident.id
            )
        )
    )
    queued: list[int] = []
    skipped: list[dict[str, Any]] = []
    for conversation in session.scalars(
        select(Conversation).where(Conversation.id.in_(conversation_ids)).order_by(Conversation.id)
    ):
        if conversation.waiting_since is None:
            skipped.append({"conversation_id": conversation.id, "reason": "already answered"})
            continue
        name = session.scalar(
            select(Message.author_name)
            .where(Message.conversation_id == conversation.id, Message.direction == "in")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
        try:
            with session.begin_nested():
                message = do_reply(
                    session,
                    user=user,
                    conversation=conversation,
                    text=personalise(text_, customer_name=name or ""),
                    idempotency_key=f"incident-{incident.id}-{conversation.id}",
                )
        except ActionError as error:
            skipped.append({"conversation_id": conversation.id, "reason": error.reason})
            continue
        queued.append(message.id)
    audit(
        session,
        action="incident.bulk_reply",
        actor_user=user,
        target_type="incident",
        target_id=incident.id,
        details={"queued": len(queued), "skipped": len(skipped)},
    )
    return {"queued": len(queued), "message_ids": queued, "skipped": skipped}


def do_escalate_alert(session: Session, *, user: User, alert: TrendAlert, note: str = "") -> int:
    """Hand the alert to the press team: every press user of the brand is notified."""
    cluster = session.get_one(TrendCluster, alert.cluster_id)
    alert.escalated_at = alert.escalated_at or utcnow()
    notified = notify(
        session,
        user_ids=_users_with_roles(session, alert.organization_id, alert.brand_id, ("press",)),
        kind="trends.escalated",
        text=f"{user.name} escalated “{cluster.label}” ({cluster.size} messages): {note}".strip(": ")
        + f" (/trends/{alert.id})",
        skip_user_id=user.id,
    )
    audit(
        session,
        action="trends.escalated",
        actor_user=user,
        target_type="trend_alert",
        target_id=alert.id,
        details={"notified": len(notified)},
    )
    return len(notified)
