"""The conversation timeline and notifications: the two things almost every workflow action writes.

Kept in one small module so that status changes, routing, notes, hand-overs, SLA alerts and surveys
all record what happened the same way (a timeline row plus a typed event after commit) and notify
people the same way (a notification row per person plus an event their live view picks up).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.events import Event, NotificationCreated, WorkflowChanged, record_events
from tilsvar.models import Conversation, TeamMember, User, utcnow
from tilsvar.models.workflow import Notification, TimelineEntry


def add_timeline(
    session: Session,
    *,
    conversation: Conversation,
    kind: str,
    summary: str,
    actor_user: User | None = None,
    actor: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    """Record one timeline entry and the live event that shows it."""
    entry = TimelineEntry(
        conversation_id=conversation.id,
        at=at or utcnow(),
        kind=kind,
        actor_user_id=actor_user.id if actor_user else None,
        actor=actor or (actor_user.name if actor_user else "system"),
        summary=summary[:1000],
        details=details or {},
    )
    session.add(entry)
    record_events(
        session,
        [
            WorkflowChanged(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                kind=kind,
                summary=summary[:300],
            )
        ],
    )
    return entry


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: str,
    text: str,
    conversation: Conversation | None = None,
    skip_user_id: int | None = None,
) -> list[int]:
    """Notify each (active) user once; returns who was notified."""
    wanted = sorted({uid for uid in user_ids if uid != skip_user_id})
    if not wanted:
        return []
    active = list(session.scalars(select(User.id).where(User.id.in_(wanted), User.is_active.is_(True))))
    events: list[Event] = []
    for user_id in active:
        session.add(
            Notification(
                user_id=user_id,
                kind=kind,
                conversation_id=conversation.id if conversation else None,
                text=text[:1000],
            )
        )
        events.append(
            NotificationCreated(
                organization_id=conversation.organization_id if conversation else None,
                brand_id=conversation.brand_id if conversation else None,
                conversation_id=conversation.id if conversation else None,
                user_id=user_id,
                kind=kind,
                text=text[:300],
            )
        )
    record_events(session, events)
    return active


def owners(session: Session, conversation: Conversation) -> list[int]:
    """Who should hear about a conversation: its assignee, else every member of its team."""
    if conversation.assignee_id is not None:
        return [conversation.assignee_id]
    if conversation.team_id is None:
        return []
    return list(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == conversation.team_id)))
