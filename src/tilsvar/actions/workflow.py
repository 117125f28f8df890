"""What agents do to a conversation's workflow: change its status (snooze until a time), assign it,
hand it over with a note. Each change is one timeline entry, an audit row and events after commit,
and recomputes the SLA clocks (pending pauses them, resolved stops them, reopening resumes them).

A customer's message reopens a pending, snoozed, resolved or closed conversation; that happens at
ingest, and ``actions.routing`` writes its timeline entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.sla import refresh_sla, workflow_state
from tilsvar.actions.timeline import add_timeline, notify
from tilsvar.events import ConversationUpdated, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Conversation, Team, TeamMember, User, utcnow
from tilsvar.models.conversations import STATUSES

SETTABLE = ("open", "pending", "snoozed", "resolved", "closed")


def do_set_status(
    session: Session,
    *,
    user: User | None,
    conversation: Conversation,
    status: str,
    snooze_until: datetime | None = None,
    actor: str = "",
    now: datetime | None = None,
) -> Conversation:
    """Set the status; ``snoozed`` needs a time in the future and wakes the conversation then."""
    now = now or utcnow()
    if status not in SETTABLE:
        raise ActionError(f"status must be one of {', '.join(SETTABLE)}", status=422)
    if status == "snoozed":
        if snooze_until is None or snooze_until.tzinfo is None:
            raise ActionError("snoozing needs a time with a time zone to wake up at", status=422)
        if snooze_until <= now:
            raise ActionError("snooze until a time in the future", status=422)
    elif snooze_until is not None:
        raise ActionError("only a snoozed conversation has a wake-up time", status=422)
    before = conversation.status
    if before == status and status != "snoozed":
        return conversation
    state = workflow_state(session, conversation)
    conversation.status = status
    conversation.updated_at = now
    if status in ("resolved", "closed"):
        conversation.resolved_at = conversation.resolved_at if before in ("resolved", "closed") else now
    elif before in ("resolved", "closed"):
        conversation.resolved_at = None
    state.snoozed_until = snooze_until if status == "snoozed" else None
    state.status_seen = status
    details: dict[str, str | None] = {"from": before, "to": status}
    summary = f"Status {before} → {status}"
    if snooze_until is not None:
        details["until"] = snooze_until.isoformat()
        summary += f" until {snooze_until:%Y-%m-%d %H:%M} UTC"
        enqueue(
            session,
            queue="workflow",
            kind="workflow.snooze_end",
            payload={"conversation_id": conversation.id, "until": snooze_until.isoformat()},
            run_at=snooze_until,
        )
    add_timeline(
        session,
        conversation=conversation,
        kind="status",
        summary=summary,
        actor_user=user,
        actor=actor,
        details=details,
        at=now,
    )
    refresh_sla(session, conversation=conversation, state=state, now=now)
    if status == "resolved" and before not in ("resolved", "closed"):
        from tilsvar.actions.csat import do_send_survey

        do_send_survey(session, conversation=conversation)
    record_events(
        session,
        [
            ConversationUpdated(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                fields=["status"],
            )
        ],
    )
    audit(
        session,
        action="conversation.status",
        actor_user=user,
        actor=actor,
        organization_id=conversation.organization_id,
        target_type="conversation",
        target_id=conversation.id,
        details={"from": before, "to": status},
    )
    return conversation


def do_end_snooze(session: Session, *, conversation_id: int, now: datetime | None = None) -> bool:
    """The snooze time came (job ``workflow.snooze_end``): back to open, and tell the owner."""
    now = now or utcnow()
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != "snoozed":
        return False
    state = workflow_state(session, conversation)
    if state.snoozed_until is not None and state.snoozed_until > now:
        return False  # snoozed again for longer; that snooze has its own job
    do_set_status(session, user=None, conversation=conversation, status="open", actor="snooze ended", now=now)
    from tilsvar.actions.timeline import owners

    notify(
        session,
        user_ids=owners(session, conversation),
        kind="snooze_ended",
        text="A snoozed conversation is back",
        conversation=conversation,
    )
    return True


def _team_in_org(session: Session, organization_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.organization_id != organization_id:
        raise ActionError(f"no team {team_id}", status=422)
    return team


def _assignable(session: Session, conversation: Conversation, assignee_id: int) -> User:
    agent = session.get(User, assignee_id)
    if agent is None or agent.organization_id != conversation.organization_id or not agent.is_active:
        raise ActionError(f"no active user {assignee_id}", status=422)
    if conversation.brand_id not in access.brand_ids(session, agent):
        raise ActionError(f"{agent.name} may not work on this brand", status=422)
    if not access.can(agent, "reply"):
        raise ActionError(f"{agent.name}'s role may not reply", status=422)
    return agent


def do_assign(
    session: Session,
    *,
    user: User,
    conversation: Conversation,
    team_id: int | None = None,
    assignee_id: int | None = None,
    unassign: bool = False,
    note: str = "",
    kind: str = "assigned",
) -> Conversation:
    """Put the conversation in a team's queue and/or with an agent (``unassign`` back to the queue)."""
    if team_id is None and assignee_id is None and not unassign:
        raise ActionError("name a team, an assignee, or unassign", status=422)
    team = _team_in_org(session, conversation.organization_id, team_id) if team_id is not None else None
    agent = _assignable(session, conversation, assignee_id) if assignee_id is not None else None
    before = (conversation.team_id, conversation.assignee_id)
    if team is not None:
        conversation.team_id = team.id
    if agent is not None:
        conversation.assignee_id = agent.id
        if team is None and conversation.team_id is not None:
            member = session.get(TeamMember, (conversation.team_id, agent.id))
            if member is None:  # keep team and person consistent: take the agent's first team
                first = session.scalar(
                    select(TeamMember.team_id)
                    .where(TeamMember.user_id == agent.id)
                    .order_by(TeamMember.team_id)
                )
                if first is not None:
                    conversation.team_id = first
    elif unassign:
        conversation.assignee_id = None
    if (conversation.team_id, conversation.assignee_id) == before and not note:
        return conversation
    conversation.updated_at = utcnow()
    team_name = (
        session.scalar(select(Team.name).where(Team.id == conversation.team_id))
        if conversation.team_id
        else None
    )
    who = agent.name if agent else None
    summary = (
        f"{'Handed over' if kind == 'handover' else 'Assigned'} to {who}"
        if who
        else f"Moved to the queue of {team_name or 'no team'}"
    )
    if note:
        summary += f": {note.strip()[:500]}"
    add_timeline(
        session,
        conversation=conversation,
        kind=kind,
        summary=summary,
        actor_user=user,
        details={
            "team_id": conversation.team_id,
            "assignee_id": conversation.assignee_id,
            "note": note[:2000],
        },
    )
    if agent is not None and agent.id != before[1]:
        notify(
            session,
            user_ids=[agent.id],
            kind=kind,
            text=f"{user.name} {'handed over' if kind == 'handover' else 'assigned'} a conversation to you"
            + (f": {note.strip()[:300]}" if note else ""),
            conversation=conversation,
            skip_user_id=user.id,
        )
    record_events(
        session,
        [
            ConversationUpdated(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                fields=["team_id", "assignee_id"],
            )
        ],
    )
    audit(
        session,
        action=f"conversation.{kind}",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={"team_id": conversation.team_id, "assignee_id": conversation.assignee_id},
    )
    return conversation


def do_hand_over(
    session: Session, *, user: User, conversation: Conversation, assignee_id: int, note: str
) -> Conversation:
    """Give the conversation to a colleague with a note saying where things stand."""
    if not note.strip():
        raise ActionError("a hand-over needs a note for your colleague", status=422)
    from tilsvar.actions.notes import do_add_note

    do_assign(
        session, user=user, conversation=conversation, assignee_id=assignee_id, note=note, kind="handover"
    )
    do_add_note(session, user=user, conversation=conversation, text=note, notify_mentions=False)
    return conversation


assert set(SETTABLE) <= set(STATUSES)
