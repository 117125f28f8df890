"""Route and assign inbound conversations with the pure engines, and store why.

Called when the understanding pipeline has stored its labels (``actions.analysis``), or at ingest when
no pipeline runs, for the conversations that received customer messages. For a conversation routing
has not seen yet it evaluates the organisation's rules, picks a team and an agent (``plan_inbound``),
applies the rules' other actions (priority, tags, flags, hide, escalation, approval, auto-reply) and
stores the explanation. A customer's follow-up in a conversation already routed is *not* routed again:
it stays with its owner if they are still available, and otherwise falls back to the team queue
(sticky owner, ``workflow.assignment``). Either way the SLA clocks are recomputed (``actions.sla``).

Nothing is ever left without a queue: a team that disappeared, a deleted or offline agent, an empty
team — every path ends in some team, at worst the organisation's fallback queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsvar.actions.analysis import PRIORITY_RANK
from tilsvar.actions.automatic import queue_automatic_message
from tilsvar.actions.common import audit
from tilsvar.actions.moderation import MODERATED_KINDS, request_moderation
from tilsvar.actions.sla import refresh_sla, workflow_state
from tilsvar.actions.timeline import add_timeline, notify
from tilsvar.actions.workflow_config import CompiledConfig, fallback_team, load_config
from tilsvar.events import ConversationUpdated, record_events
from tilsvar.models import (
    Brand,
    Channel,
    Conversation,
    ConversationTag,
    Identity,
    Message,
    Tag,
    Team,
    TeamMember,
    User,
    utcnow,
)
from tilsvar.models.workflow import AgentProfile, ChannelWorkflow, TeamWorkflow
from tilsvar.workflow.assignment import (
    AgentSnapshot,
    AssignmentDecision,
    AssignmentRequest,
    TeamSnapshot,
    assign,
)
from tilsvar.workflow.common import Ref
from tilsvar.workflow.conditions import MessageContext
from tilsvar.workflow.inbound import ConversationState, Workflow, plan_inbound
from tilsvar.workflow.rules import RoutingDecision

OPEN_STATUSES = ("new", "open", "pending", "snoozed")
REOPENING = frozenset({"resolved", "closed", "pending", "snoozed"})
CHANNEL_KEYS = {"email": "email", "webchat": "chat"}


def channel_key(platform: str) -> str:
    """The key capacity and skills are counted by: email, chat, or social (every social platform)."""
    return CHANNEL_KEYS.get(platform, "social")


@dataclass
class OrgSnapshot:
    """Teams and agents of one organisation as the engines see them, for one batch."""

    config: CompiledConfig
    workflow: Workflow
    team_id_by_ref: dict[Ref, int]
    team_slug: dict[int, str]
    agents: dict[Ref, AgentSnapshot]
    user_by_ref: dict[Ref, int]
    cursors: dict[Ref, Ref]


def _snapshot(session: Session, organization_id: int) -> OrgSnapshot:
    config = load_config(session, organization_id)
    fallback = fallback_team(session, organization_id)
    teams = list(
        session.scalars(select(Team).where(Team.organization_id == organization_id).order_by(Team.id))
    )
    settings = {
        row.team_id: row
        for row in session.scalars(
            select(TeamWorkflow).where(TeamWorkflow.team_id.in_([t.id for t in teams]))
        )
    }
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_([t.id for t in teams]))
        .order_by(TeamMember.team_id, TeamMember.user_id)
    ):
        members[team_id].append(user_id)
    team_snapshots = []
    team_id_by_ref: dict[Ref, int] = {}
    cursors: dict[Ref, Ref] = {}
    for team in teams:
        row = settings.get(team.id)
        strategy: Any = row.strategy if row else "round_robin"
        team_snapshots.append(
            TeamSnapshot(
                id=team.slug,
                name=team.name,
                strategy=strategy,
                members=tuple(members[team.id]),
                sticky_hours=row.sticky_hours if row else 72.0,
                sticky_wait_minutes=row.sticky_wait_minutes if row else 0.0,
            )
        )
        for ref in (team.slug, team.id, str(team.id)):
            team_id_by_ref[ref] = team.id
        if row is not None and row.round_robin_cursor is not None:
            cursors[team.slug] = row.round_robin_cursor
    team_of_user: dict[int, set[Ref]] = defaultdict(set)
    for team in teams:
        for user_id in members[team.id]:
            team_of_user[user_id].add(team.slug)
    users = list(
        session.execute(
            select(User.id, User.name, User.email, User.is_active).where(
                User.organization_id == organization_id
            )
        )
    )
    profiles = {
        row.user_id: row
        for row in session.execute(  # plain rows, not ORM objects: this runs for every message
            select(
                AgentProfile.user_id,
                AgentProfile.online,
                AgentProfile.languages,
                AgentProfile.channels,
                AgentProfile.topics,
                AgentProfile.capacity,
            )
            .join(User, User.id == AgentProfile.user_id)
            .where(User.organization_id == organization_id)
        )
    }
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for assignee_id, platform, count in session.execute(
        select(Conversation.assignee_id, Channel.platform, func.count())
        .join(Channel, Channel.id == Conversation.channel_id)
        .where(
            Conversation.organization_id == organization_id,
            Conversation.assignee_id.is_not(None),
            Conversation.status.in_(OPEN_STATUSES),
        )
        .group_by(Conversation.assignee_id, Channel.platform)
    ):
        if assignee_id is not None:
            load[assignee_id][channel_key(platform)] += count
    agents: dict[Ref, AgentSnapshot] = {}
    user_by_ref: dict[Ref, int] = {}
    for user_id, name, email, active in users:
        profile = profiles.get(user_id)
        snapshot = AgentSnapshot(
            id=user_id,
            name=name,
            online=bool(profile and profile.online),
            active=active,
            teams=frozenset(team_of_user[user_id]),
            languages=frozenset(profile.languages if profile else ()),
            channels=frozenset(profile.channels if profile else ()),
            topics=frozenset(profile.topics if profile else ()),
            capacity=dict(profile.capacity) if profile else {},
            load=dict(load[user_id]),
        )
        for ref in (user_id, str(user_id), email.lower(), email):
            agents[ref] = snapshot
            user_by_ref[ref] = user_id
    workflow = Workflow.build(
        rules=config.rules, teams=team_snapshots, fallback_team=fallback.slug, policies=config.policies
    )
    team_id_by_ref.setdefault(fallback.slug, fallback.id)
    return OrgSnapshot(
        config=config,
        workflow=workflow,
        team_id_by_ref=team_id_by_ref,
        team_slug={team.id: team.slug for team in [*teams, fallback]},
        agents=agents,
        user_by_ref=user_by_ref,
        cursors=cursors,
    )


def do_route_conversations(
    session: Session, *, conversation_ids: Iterable[int], now: datetime | None = None
) -> int:
    """Route (or, for follow-ups, re-check the owner of) each conversation; returns how many were
    routed for the first time."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    now = now or utcnow()
    snapshots: dict[int, OrgSnapshot] = {}
    routed = 0
    conversations = list(
        session.scalars(select(Conversation).where(Conversation.id.in_(ids)).order_by(Conversation.id))
    )
    for conversation in conversations:
        snapshot = snapshots.get(conversation.organization_id)
        if snapshot is None:
            snapshot = snapshots[conversation.organization_id] = _snapshot(
                session, conversation.organization_id
            )
        routed += _route_one(session, conversation, snapshot, now)
    return routed


def _latest_inbound(session: Session, conversation_id: int) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "in")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )


def _route_one(session: Session, conversation: Conversation, snapshot: OrgSnapshot, now: datetime) -> int:
    from tilsvar.actions.csat import take_survey_answer

    state = workflow_state(session, conversation)
    message = _latest_inbound(session, conversation.id)
    if message is None or (state.routed_message_id is not None and message.id <= state.routed_message_id):
        refresh_sla(session, conversation=conversation, state=state, config=snapshot.config, now=now)
        return 0
    if take_survey_answer(session, conversation=conversation, state=state, message=message):
        state.routed_message_id = message.id
        refresh_sla(session, conversation=conversation, state=state, config=snapshot.config, now=now)
        return 0
    if state.status_seen in REOPENING and conversation.status == "open":
        add_timeline(
            session,
            conversation=conversation,
            kind="status",
            summary=f"Reopened by the customer's message (was {state.status_seen})",
            actor="customer",
            details={"from": state.status_seen, "to": "open", "by": "customer"},
            at=message.created_at,
        )
        state.snoozed_until = None
    state.status_seen = conversation.status
    channel = session.get_one(Channel, conversation.channel_id)
    key = channel_key(channel.platform)
    owner, handled_at = _previous_owner(session, conversation)
    current_team = snapshot.team_slug.get(conversation.team_id) if conversation.team_id else None
    first = state.routed_at is None
    routing: RoutingDecision | None = None
    if first:
        context = _context(session, conversation, channel, message, snapshot)
        plan = plan_inbound(
            snapshot.workflow,
            context,
            agents=snapshot.agents,
            channel_key=key,
            state=ConversationState(
                current_team=current_team,
                current_assignee=conversation.assignee_id,
                previous_owner=owner,
                previous_handled_at=handled_at,
                round_robin_cursors=snapshot.cursors,
            ),
        )
        decision = plan.assignment
        routing = plan.routing
        explanation = plan.explain()
    else:
        decision = assign(
            AssignmentRequest(
                channel=key,
                arrived_at=message.created_at,
                now=now,
                current_team=current_team,
                current_assignee=conversation.assignee_id,
                language=conversation.language,
                topic=conversation.intent,
                previous_owner=owner,
                previous_handled_at=handled_at,
                round_robin_after=snapshot.cursors.get(current_team) if current_team else None,
            ),
            agents=snapshot.agents,
            teams=snapshot.workflow.teams,
            fallback_team=snapshot.workflow.fallback_team,
        )
        explanation = (
            state.explanation
            + f"\nFollow-up {message.created_at:%Y-%m-%d %H:%M} UTC: not routed again; "
            + decision.explain()
            + "."
        )[-8000:]
    _apply_assignment(session, conversation, state, decision, snapshot, first=first, key=key)
    override = state.priority_override
    if override in PRIORITY_RANK and PRIORITY_RANK[override] > conversation.priority_rank:
        conversation.priority, conversation.priority_rank = override, PRIORITY_RANK[override]
    if routing is not None:
        _apply_routing(session, conversation, state, routing, snapshot, message)
    state.explanation = explanation
    state.routing = _routing_json(routing, decision) if routing is not None else state.routing
    state.routed_at = state.routed_at or now
    state.routed_message_id = message.id
    _out_of_hours_reply(session, conversation, state, snapshot, now)
    refresh_sla(session, conversation=conversation, state=state, config=snapshot.config, now=now)
    record_events(
        session,
        [
            ConversationUpdated(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                fields=["team_id", "assignee_id", "routing"],
            )
        ],
    )
    return 1 if first else 0


def _previous_owner(session: Session, conversation: Conversation) -> tuple[int | None, datetime | None]:
    """The agent who last answered this customer in another conversation, and when."""
    if conversation.contact_id is None:
        return None, None
    row = session.execute(
        select(Conversation.assignee_id, Conversation.last_outbound_at)
        .where(
            Conversation.contact_id == conversation.contact_id,
            Conversation.id != conversation.id,
            Conversation.assignee_id.is_not(None),
            Conversation.last_outbound_at.is_not(None),
        )
        .order_by(Conversation.last_outbound_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _context(
    session: Session, conversation: Conversation, channel: Channel, message: Message, snapshot: OrgSnapshot
) -> MessageContext:
    brand_slug = session.scalar(select(Brand.slug).where(Brand.id == conversation.brand_id))
    author = (
        session.execute(
            select(Identity.handle, Identity.external_id_sealed).where(
                Identity.id == message.author_identity_id
            )
        ).first()
        if message.author_identity_id
        else None
    )
    # An e-mail sender's handle is its address, kept sealed (privacy/blind.py): rules still match it.
    handle = (author[0] or author[1]) if author else None
    tags = frozenset(
        session.scalars(
            select(Tag.name)
            .join(ConversationTag, ConversationTag.tag_id == Tag.id)
            .where(ConversationTag.conversation_id == conversation.id)
        )
    )
    negative = 0
    if snapshot.config.needs_negative_count:
        negative = int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.brand_id == conversation.brand_id,
                    Message.direction == "in",
                    Message.sentiment == "negative",
                    Message.created_at > message.created_at - timedelta(hours=1),
                    Message.created_at <= message.created_at,
                )
            )
            or 0
        )
    calendar_id = snapshot.config.channel_calendar.get(channel.id)
    return MessageContext(
        received_at=message.created_at,
        text=message.text,
        brand=conversation.brand_id,
        brand_slug=brand_slug,
        channel=channel.id,
        channel_account=channel.account,
        platform=channel.platform,
        kind=message.kind,
        language=message.language or conversation.language,
        intent=message.intent or conversation.intent,
        sentiment=message.sentiment or conversation.sentiment,
        sentiment_score=message.sentiment_score,
        priority=message.priority or conversation.priority,
        tags=tags,
        contact=conversation.contact_id,
        handle=handle,
        negative_last_hour=negative,
        calendar=snapshot.config.calendars.get(calendar_id) if calendar_id is not None else None,
    )


def _apply_assignment(
    session: Session,
    conversation: Conversation,
    state: Any,
    decision: AssignmentDecision,
    snapshot: OrgSnapshot,
    *,
    first: bool,
    key: str,
) -> None:
    team_id = snapshot.team_id_by_ref.get(decision.team)
    if team_id is None:  # the engine always names a team; the fallback exists
        team_id = snapshot.team_id_by_ref[snapshot.workflow.fallback_team]
    agent_id = snapshot.user_by_ref.get(decision.agent) if decision.agent is not None else None
    state.reserved_for_id = snapshot.user_by_ref.get(decision.reserved_for) if decision.reserved_for else None
    state.reserved_until = decision.reserved_until
    if decision.round_robin_cursor is not None:
        row = session.get(TeamWorkflow, team_id)
        if row is None:
            row = TeamWorkflow(
                team_id=team_id, strategy="round_robin", sticky_hours=72.0, sticky_wait_minutes=0.0
            )
            session.add(row)
        row.round_robin_cursor = snapshot.user_by_ref.get(decision.round_robin_cursor)
        team_slug = snapshot.team_slug.get(team_id)
        if team_slug is not None:
            snapshot.cursors[team_slug] = decision.round_robin_cursor
    if team_id == conversation.team_id and agent_id == conversation.assignee_id:
        return
    before_agent = conversation.assignee_id
    conversation.team_id = team_id
    conversation.assignee_id = agent_id
    conversation.updated_at = utcnow()
    if agent_id is not None:
        _count_load(snapshot, agent_id, key)
    chosen = snapshot.agents.get(agent_id) if agent_id is not None else None
    who = chosen.name if chosen is not None else None
    team_name = snapshot.team_slug.get(team_id, str(team_id))
    summary = f"Assigned to {who} in team {team_name}" if who else f"In the queue of team {team_name}"
    add_timeline(
        session,
        conversation=conversation,
        kind="assigned",
        summary=f"{summary} ({decision.reason})",
        actor="routing",
        details={"team_id": team_id, "assignee_id": agent_id, "reason": decision.reason, "first": first},
    )
    if agent_id is not None and agent_id != before_agent:
        notify(
            session,
            user_ids=[agent_id],
            kind="assigned",
            text=f"A conversation was assigned to you ({decision.reason})",
            conversation=conversation,
        )


def _count_load(snapshot: OrgSnapshot, agent_id: int, platform_key: str) -> None:
    """Keep the batch's snapshot honest: the agent now has one more open conversation."""
    agent = snapshot.agents.get(agent_id)
    if agent is None:
        return
    load = dict(agent.load)
    load[platform_key] = load.get(platform_key, 0) + 1
    updated = AgentSnapshot(
        id=agent.id,
        name=agent.name,
        online=agent.online,
        active=agent.active,
        teams=agent.teams,
        languages=agent.languages,
        channels=agent.channels,
        topics=agent.topics,
        capacity=agent.capacity,
        load=load,
    )
    for ref, value in list(snapshot.agents.items()):
        if value is agent:
            snapshot.agents[ref] = updated


def _apply_routing(
    session: Session,
    conversation: Conversation,
    state: Any,
    routing: RoutingDecision,
    snapshot: OrgSnapshot,
    message: Message,
) -> None:
    if routing.priority is not None and PRIORITY_RANK[routing.priority] != conversation.priority_rank:
        state.priority_override = routing.priority
        conversation.priority = routing.priority
        conversation.priority_rank = PRIORITY_RANK[routing.priority]
    if routing.tags:
        _tag(session, conversation, routing.tags)
    if routing.flags:
        conversation.flagged = True
    if routing.hide and message.kind in MODERATED_KINDS and not message.moderation_state:
        request_moderation(
            session, message_id=message.id, action="hide", reason="routing rule", actor="routing"
        )
    if routing.escalation is not None:
        team_id = snapshot.team_id_by_ref.get(routing.escalation.team)
        text = (
            f"Escalated to team {routing.escalation.team}: {routing.escalation.reason or 'by a routing rule'}"
        )
        add_timeline(session, conversation=conversation, kind="escalated", summary=text, actor="routing")
        if team_id is not None:
            notify(
                session,
                user_ids=session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)),
                kind="escalated",
                text=text,
                conversation=conversation,
            )
    if routing.require_approval:
        state.requires_approval = True
        state.approval_team_id = (
            snapshot.team_id_by_ref.get(routing.approval_team) if routing.approval_team is not None else None
        )
    if routing.auto_reply is not None:
        text = _canned_text(session, conversation, str(routing.auto_reply))
        if text:
            queue_automatic_message(session, conversation=conversation, text=text, author="auto-reply")
            state.auto_replied_at = utcnow()
    if routing.matches:
        add_timeline(
            session,
            conversation=conversation,
            kind="routed",
            summary="; ".join(f"rule {match.rule_id!r}" for match in routing.matches)[:1000],
            actor="routing",
            details={"rules": [match.rule_id for match in routing.matches]},
        )
    audit(
        session,
        action="conversation.routed",
        actor="routing",
        organization_id=conversation.organization_id,
        target_type="conversation",
        target_id=conversation.id,
        details={"rules": [match.rule_id for match in routing.matches]},
    )


def _tag(session: Session, conversation: Conversation, names: Iterable[str]) -> None:
    """Tag the conversation (creating tags the organisation does not have yet), in a few statements."""
    wanted = set(names)
    existing = dict(
        session.execute(
            select(Tag.name, Tag.id).where(
                Tag.organization_id == conversation.organization_id, Tag.name.in_(wanted)
            )
        ).all()
    )
    for name in sorted(wanted - set(existing)):
        tag = Tag(organization_id=conversation.organization_id, name=name)
        session.add(tag)
        session.flush()
        existing[name] = tag.id
    present = set(
        session.scalars(
            select(ConversationTag.tag_id).where(ConversationTag.conversation_id == conversation.id)
        )
    )
    for tag_id in sorted(set(existing.values()) - present):
        session.add(ConversationTag(conversation_id=conversation.id, tag_id=tag_id))


def _canned_text(session: Session, conversation: Conversation, shortcut: str) -> str:
    from tilsvar.actions.canned import find_canned, render_canned

    canned = find_canned(session, conversation=conversation, shortcut=shortcut)
    return render_canned(session, canned=canned, conversation=conversation, agent=None) if canned else ""


def _out_of_hours_reply(
    session: Session, conversation: Conversation, state: Any, snapshot: OrgSnapshot, now: datetime
) -> None:
    """Outside staffed hours, tell the customer when the team will answer (once per waiting spell)."""
    settings = session.get(ChannelWorkflow, conversation.channel_id)
    if settings is None or not settings.auto_reply_enabled or conversation.waiting_since is None:
        return
    calendar_id = snapshot.config.channel_calendar.get(conversation.channel_id)
    calendar = snapshot.config.calendars.get(calendar_id) if calendar_id is not None else None
    if calendar is None or calendar.is_open(now):
        return
    if state.auto_replied_at is not None and state.auto_replied_at >= conversation.waiting_since:
        return
    opens = calendar.local(calendar.next_opening(now))
    template = settings.auto_reply_text or (
        "Thank you for your message. Our team is away right now and will answer from {opens_at}."
    )
    text = template.replace("{opens_at}", opens.strftime("%A %d %B %H:%M"))
    queue_automatic_message(session, conversation=conversation, text=text, author="auto-reply")
    state.auto_replied_at = now
    add_timeline(
        session,
        conversation=conversation,
        kind="auto_reply",
        summary=f"Out-of-hours auto-reply sent (team opens {opens:%Y-%m-%d %H:%M} local time)",
        actor="routing",
    )


def _routing_json(routing: RoutingDecision, decision: AssignmentDecision) -> dict[str, Any]:
    return {
        "team": decision.team,
        "agent": decision.agent,
        "reason": decision.reason,
        "priority": routing.priority,
        "tags": list(routing.tags),
        "flags": list(routing.flags),
        "hide": routing.hide,
        "escalation": routing.escalation.team if routing.escalation else None,
        "auto_reply": routing.auto_reply,
        "require_approval": routing.require_approval,
        "rules": [match.rule_id for match in routing.matches],
    }
