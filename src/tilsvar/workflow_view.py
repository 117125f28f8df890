"""Read model of a conversation's workflow: owner, "why routed here", SLA clocks, timeline, notes,
drafts, surveys, the linked conversation, and the customer's other conversations — shared by the JSON
API and the web UI so both show the same. Customer and agent text is returned as plain strings; the
templates escape it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.models import Channel, Contact, Conversation, Identity, Team, User, utcnow
from tilsvar.models.workflow import (
    ContactMerge,
    ConversationWorkflowState,
    CsatSurvey,
    Note,
    Notification,
    ReplyDraft,
    TimelineEntry,
)
from tilsvar.privacy import blind


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class ClockView:
    metric: str
    label: str
    state: str
    level: str
    due_at: datetime | None
    remaining_minutes: float | None
    target_minutes: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "state": self.state,
            "level": self.level,
            "due_at": _iso(self.due_at),
            "remaining_minutes": self.remaining_minutes,
            "target_minutes": self.target_minutes,
        }


@dataclass
class WorkflowView:
    conversation_id: int
    status: str
    team_id: int | None
    team_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    explanation: str
    routing: dict[str, Any]
    requires_approval: bool
    snoozed_until: datetime | None
    policy: str
    sla_level: str
    next_due_at: datetime | None
    clocks: list[ClockView]
    breaches: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    drafts: list[dict[str, Any]]
    csat: list[dict[str, Any]]
    linked_conversation_id: int | None
    contact: dict[str, Any] | None
    other_conversations: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "status": self.status,
            "team": {"id": self.team_id, "name": self.team_name} if self.team_id else None,
            "assignee": {"id": self.assignee_id, "name": self.assignee_name} if self.assignee_id else None,
            "explanation": self.explanation,
            "routing": self.routing,
            "requires_approval": self.requires_approval,
            "snoozed_until": _iso(self.snoozed_until),
            "sla": {
                "policy": self.policy,
                "level": self.sla_level,
                "next_due_at": _iso(self.next_due_at),
                "clocks": [clock.as_json() for clock in self.clocks],
                "breaches": self.breaches,
            },
            "timeline": self.timeline,
            "notes": self.notes,
            "drafts": self.drafts,
            "csat": self.csat,
            "linked_conversation_id": self.linked_conversation_id,
            "contact": self.contact,
            "other_conversations": self.other_conversations,
        }


LABELS = {"first_response": "First response", "next_response": "Next response", "resolution": "Resolution"}


def _clocks(sla: dict[str, Any], now: datetime) -> list[ClockView]:
    clocks = []
    for metric, label in LABELS.items():
        data = sla.get(metric)
        if not data:
            continue
        due = datetime.fromisoformat(data["due_at"]) if data.get("due_at") else None
        remaining = data.get("remaining_minutes")
        if due is not None and data.get("state") == "running" and not data.get("business_hours"):
            remaining = round((due - now).total_seconds() / 60, 1)  # fresh for around-the-clock targets
        level = data.get("level", "none")
        if data.get("state") == "running" and due is not None and due <= now:
            level = "breached"
        clocks.append(
            ClockView(metric, label, data.get("state", ""), level, due, remaining, data.get("target_minutes"))
        )
    return clocks


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    ids.discard(0)
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def read_workflow(session: Session, user: User, conversation_id: int) -> WorkflowView:
    conversation = access.access_conversation(session, user, conversation_id)
    state = session.get(ConversationWorkflowState, conversation.id)
    now = utcnow()
    entries = list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.conversation_id == conversation.id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    )
    notes = list(
        session.scalars(select(Note).where(Note.conversation_id == conversation.id).order_by(Note.id))
    )
    drafts = list(
        session.scalars(
            select(ReplyDraft).where(ReplyDraft.conversation_id == conversation.id).order_by(ReplyDraft.id)
        )
    )
    surveys = list(
        session.scalars(
            select(CsatSurvey).where(CsatSurvey.conversation_id == conversation.id).order_by(CsatSurvey.id)
        )
    )
    names = _names(
        session,
        {conversation.assignee_id or 0}
        | {note.author_user_id or 0 for note in notes}
        | {draft.author_user_id or 0 for draft in drafts}
        | {draft.reviewer_user_id or 0 for draft in drafts},
    )
    team_name = (
        session.scalar(select(Team.name).where(Team.id == conversation.team_id))
        if conversation.team_id
        else None
    )
    contact = None
    others: list[dict[str, Any]] = []
    if conversation.contact_id is not None:
        contact = contact_json(session, user, conversation.contact_id)
        others = [c for c in contact["conversations"] if c["id"] != conversation.id] if contact else []
    sla = state.sla if state else {}
    return WorkflowView(
        conversation_id=conversation.id,
        status=conversation.status,
        team_id=conversation.team_id,
        team_name=team_name,
        assignee_id=conversation.assignee_id,
        assignee_name=names.get(conversation.assignee_id or 0),
        explanation=state.explanation if state else "",
        routing=dict(state.routing or {}) if state else {},
        requires_approval=bool(state and state.requires_approval),
        snoozed_until=state.snoozed_until if state else None,
        policy=str(sla.get("policy", "")),
        sla_level=state.sla_level if state else "none",
        next_due_at=state.next_due_at if state else None,
        clocks=_clocks(sla, now),
        breaches=list(sla.get("breaches", [])),
        timeline=[
            {
                "id": entry.id,
                "at": entry.at.isoformat(),
                "kind": entry.kind,
                "actor": entry.actor,
                "summary": entry.summary,
                "details": entry.details,
            }
            for entry in entries
        ],
        notes=[
            {
                "id": note.id,
                "author": names.get(note.author_user_id or 0, ""),
                "text": note.text,
                "mentions": note.mentions,
                "created_at": note.created_at.isoformat(),
            }
            for note in notes
        ],
        drafts=[
            {
                "id": draft.id,
                "author": names.get(draft.author_user_id or 0, ""),
                "status": draft.status,
                "text": draft.text,
                "reviewer": names.get(draft.reviewer_user_id or 0),
                "comment": draft.comment,
                "message_id": draft.message_id,
                "created_at": draft.created_at.isoformat(),
            }
            for draft in drafts
        ],
        csat=[
            {
                "id": survey.id,
                "sent_at": survey.sent_at.isoformat(),
                "rating": survey.rating,
                "comment": survey.comment,
                "answered_at": _iso(survey.answered_at),
                "agent_user_id": survey.agent_user_id,
                "team_id": survey.team_id,
            }
            for survey in surveys
        ],
        linked_conversation_id=state.linked_conversation_id if state else None,
        contact=contact,
        other_conversations=others,
    )


def contact_json(session: Session, user: User, contact_id: int) -> dict[str, Any] | None:
    """A customer across channels: identities, every conversation the user may see, merges."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organization_id != user.organization_id:
        return None
    brand_ids = access.brand_ids(session, user)
    identities = session.execute(
        select(
            Identity.id, Identity.platform, Identity.handle, Identity.name, Identity.external_id_sealed
        ).where(Identity.contact_id == contact.id)
    ).all()
    conversations = session.execute(
        select(
            Conversation.id,
            Conversation.status,
            Conversation.preview,
            Conversation.last_message_at,
            Channel.platform,
            Conversation.kind,
        )
        .join(Channel, Channel.id == Conversation.channel_id)
        .where(Conversation.contact_id == contact.id, Conversation.brand_id.in_(brand_ids))
        .order_by(Conversation.last_message_at.desc())
        .limit(50)
    ).all()
    merges = session.execute(
        select(
            ContactMerge.id,
            ContactMerge.source_contact_id,
            ContactMerge.source_name,
            ContactMerge.merged_at,
            ContactMerge.undone_at,
        )
        .where(ContactMerge.target_contact_id == contact.id)
        .order_by(ContactMerge.id.desc())
    ).all()
    from tilsvar.actions.contacts import contact_tags

    return {
        "id": contact.id,
        "name": contact.display_name,
        "tags": contact_tags(session, contact.id),
        "identities": [
            # an e-mail identity's address is sealed: shown masked (privacy/blind.py)
            {"id": i, "platform": platform, "handle": handle or blind.masked(address or ""), "name": name}
            for i, platform, handle, name, address in identities
        ],
        "conversations": [
            {
                "id": cid,
                "status": status,
                "preview": preview,
                "last_message_at": last.isoformat(),
                "platform": platform,
                "kind": kind,
                "open": status not in ("resolved", "closed"),
            }
            for cid, status, preview, last, platform, kind in conversations
        ],
        "merges": [
            {
                "id": mid,
                "source_contact_id": source,
                "source_name": source_name,
                "merged_at": merged.isoformat(),
                "undone_at": _iso(undone),
            }
            for mid, source, source_name, merged, undone in merges
        ],
    }


def notifications_json(
    session: Session, user: User, *, unread_only: bool = False, limit: int = 100
) -> dict[str, Any]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    return {
        "unread": int(unread or 0),
        "items": [
            {
                "id": row.id,
                "kind": row.kind,
                "text": row.text,
                "conversation_id": row.conversation_id,
                "created_at": row.created_at.isoformat(),
                "read": row.read_at is not None,
            }
            for row in rows
        ],
    }
