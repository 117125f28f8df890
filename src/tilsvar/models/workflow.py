"""What the conversation workflow stores: routing rules, SLA policies and calendars, per-conversation
workflow state (SLA due times, the routing explanation), agent presence and skills, team assignment
settings, the conversation timeline, internal notes, notifications, canned responses, drafts for
review, CSAT surveys and contact merges.

The decisions themselves are made by the pure engines in ``tilsvar.workflow``; these tables hold their
configuration (as the engines' own JSON) and their results, so a conversation can always say why it
is where it is. Workflow state lives beside ``conversations`` (one row per conversation) rather than in
it, so the hot inbox table stays narrow and other features' migrations do not collide with this one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, JsonType, UTCDateTime, utcnow


class WorkflowConfig(Base):
    """Per organisation: the fallback queue and a version bumped by every configuration change, so
    compiled rules, policies and calendars can be cached per process and refreshed when it moves."""

    __tablename__ = "workflow_config"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=1)
    fallback_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change to teams, members, agents' profiles and presence: routing caches its
    # snapshot of them per process under (version, updated_at, roster_version).
    roster_version: Mapped[int] = mapped_column(default=0, server_default="0")


class RoutingRule(Base):
    """One routing rule in the engine's own form (``workflow.rules.Rule.to_data``), in order."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("organization_id", "rule_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    rule_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusinessCalendarRow(Base):
    """A business-hours calendar (``workflow.calendar.CalendarSpec`` as JSON)."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaPolicyRow(Base):
    """An SLA policy (``workflow.sla.SlaPolicy`` as JSON; brand by slug, channel by id)."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("organization_id", "policy_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    policy_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelWorkflow(Base):
    """Per channel: its calendar, the out-of-hours auto-reply and whether CSAT surveys are sent."""

    __tablename__ = "channel_workflow"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id", ondelete="SET NULL"))
    auto_reply_enabled: Mapped[bool] = mapped_column(default=False)
    auto_reply_text: Mapped[str] = mapped_column(Text, default="")
    csat_enabled: Mapped[bool] = mapped_column(default=False)
    csat_mode: Mapped[str] = mapped_column(String(16), default="message")  # message | link


class TeamWorkflow(Base):
    """Per team: how conversations are assigned inside it."""

    __tablename__ = "team_workflow"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(16), default="round_robin")
    sticky_hours: Mapped[float] = mapped_column(default=72.0)
    sticky_wait_minutes: Mapped[float] = mapped_column(default=0.0)
    round_robin_cursor: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AgentProfile(Base):
    """Per agent: presence, skills and capacity per channel key (``"*"`` for the rest)."""

    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    languages: Mapped[list[str]] = mapped_column(JsonType, default=list)
    channels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    topics: Mapped[list[str]] = mapped_column(JsonType, default=list)
    capacity: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)


class ConversationWorkflowState(Base):
    """Per conversation: where routing put it and why, approval, snooze, SLA clocks and what has been
    announced about them (each warning and breach once), links to related conversations."""

    __tablename__ = "conversation_workflow"
    __table_args__ = (
        Index("ix_conversation_workflow_next_due", "next_due_at"),
        Index("ix_conversation_workflow_next_check", "next_check_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    routed_message_id: Mapped[int | None] = mapped_column()
    explanation: Mapped[str] = mapped_column(Text, default="")
    routing: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    priority_override: Mapped[str | None] = mapped_column(String(8))
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    approval_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    status_seen: Mapped[str] = mapped_column(String(16), default="new")
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reserved_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_key: Mapped[str] = mapped_column(String(100), default="default")
    sla: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    sla_level: Mapped[str] = mapped_column(String(16), default="none")
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announced: Mapped[list[str]] = mapped_column(JsonType, default=list)
    linked_conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )


class TimelineEntry(Base):
    """Something that happened to a conversation besides its messages: a status change, an assignment,
    a note, a hand-over, routing, an SLA warning or breach, a merge, a survey."""

    __tablename__ = "conversation_timeline"
    __table_args__ = (Index("ix_conversation_timeline_conversation", "conversation_id", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(String(1000), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Note(Base):
    """An internal note on a conversation (never sent to the customer), with the users it mentions."""

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CannedResponse(Base):
    """A saved answer with variables; per brand (None: every brand) and language (None: any)."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("organization_id", "shortcut", "brand_id", "language"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(8))
    shortcut: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReplyDraft(Base):
    """A reply written but not sent: kept, sent to a colleague for review, or held for approval."""

    __tablename__ = "reply_drafts"
    __table_args__ = (Index("ix_reply_drafts_status", "status"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    # draft, review (a colleague is asked), approval (a rule requires it), sent, rejected
    status: Mapped[str] = mapped_column(String(16), default="draft")
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approval_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(String(1000), default="")
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsatSurvey(Base):
    """A satisfaction survey sent after a resolution, and the customer's answer."""

    __tablename__ = "csat_surveys"
    __table_args__ = (Index("ix_csat_surveys_conversation", "conversation_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rating: Mapped[str | None] = mapped_column(String(8))  # happy, neutral, sad
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))


class ContactMerge(Base):
    """Two contacts found to be one customer: what moved, so the merge can be undone."""

    __tablename__ = "contact_merges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    source_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    target_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    source_name: Mapped[str] = mapped_column(String(200), default="")
    identity_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    conversation_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    merged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
