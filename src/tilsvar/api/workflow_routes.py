"""``/api/v1`` for the conversation workflow: routing rules, SLA policies, calendars, team and agent
settings; a conversation's workflow (owner, why, SLA, timeline), status, assignment, hand-over, notes,
drafts and approval, canned responses, bulk replies, presence, contacts and merges, notifications,
CSAT answers. Thin: parse, authorize via ``access``, call one action or read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.canned import canned_for_conversation, do_bulk_reply, do_delete_canned, do_save_canned
from tilsvar.actions.contacts import (
    do_merge_contacts,
    do_move_to_private,
    do_set_contact_tags,
    do_undo_merge,
)
from tilsvar.actions.drafts import do_decide_draft, do_save_draft, pending_drafts
from tilsvar.actions.notes import do_add_note, do_mark_notifications_read
from tilsvar.actions.org import do_add_team_member, do_remove_team_member
from tilsvar.actions.workflow import do_assign, do_hand_over, do_set_status
from tilsvar.actions.workflow_config import (
    do_save_calendar,
    do_save_routing_rules,
    do_save_sla_policies,
    do_set_agent_profile,
    do_set_channel_workflow,
    do_set_team_workflow,
    export_rules_yaml,
    profile_of,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models import Channel, Conversation, Team, TeamMember, User
from tilsvar.models.workflow import (
    BusinessCalendarRow,
    CannedResponse,
    ChannelWorkflow,
    CsatSurvey,
    SlaPolicyRow,
    TeamWorkflow,
)
from tilsvar.presence import board
from tilsvar.workflow.conditions import FIELDS
from tilsvar.workflow_view import contact_json, notifications_json, read_workflow

router = APIRouter(prefix="/api/v1", tags=["workflow"])


# configuration -----------------------------------------------------------------------------------


class RulesIn(BaseModel):
    yaml: str | None = Field(default=None, max_length=500_000, description="the rules as YAML")
    rules: list[dict[str, Any]] | None = Field(default=None, description="or as a list of rule objects")


@router.get("/workflow/rules", summary="The routing rules (YAML and data), in evaluation order")
def get_rules(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    text = export_rules_yaml(session, user.organization_id)
    from tilsvar.actions.workflow_config import load_config

    return {
        "yaml": text,
        "rules": load_config(session, user.organization_id).rules.to_data()["rules"],
        "fields": {name: {"operators": list(spec.ops), "help": spec.help} for name, spec in FIELDS.items()},
    }


@router.get(
    "/workflow/rules.yaml",
    summary="Export the routing rules as a YAML file",
    response_class=PlainTextResponse,
)
def export_rules(user: ApiUser, session: ReadSession) -> PlainTextResponse:
    access.require(user, "read")
    return PlainTextResponse(
        export_rules_yaml(session, user.organization_id),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="routing-rules.yaml"'},
    )


@router.put("/workflow/rules", summary="Replace the routing rules (validated; refused whole with the reason)")
def put_rules(body: RulesIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    if (body.yaml is None) == (body.rules is None):
        raise HTTPException(422, "send either yaml or rules")
    with database.session() as session:
        ruleset = do_save_routing_rules(
            session, user=user, rules=body.yaml if body.yaml is not None else body.rules or []
        )
        return {"saved": len(ruleset.rules), "yaml": ruleset.to_yaml()}


class PoliciesIn(BaseModel):
    policies: list[dict[str, Any]]


@router.get("/workflow/sla-policies", summary="SLA policies (most specific match wins)")
def get_policies(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    rows = session.scalars(
        select(SlaPolicyRow)
        .where(SlaPolicyRow.organization_id == user.organization_id)
        .order_by(SlaPolicyRow.position)
    )
    return {"policies": [row.spec for row in rows]}


@router.put("/workflow/sla-policies", summary="Replace the SLA policies")
def put_policies(body: PoliciesIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        saved = do_save_sla_policies(session, user=user, policies=body.policies)
        return {"saved": len(saved)}


class CalendarIn(BaseModel):
    yaml: str | None = Field(default=None, max_length=100_000)
    spec: dict[str, Any] | None = None


@router.get("/workflow/calendars", summary="Business-hours calendars")
def get_calendars(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    rows = session.scalars(
        select(BusinessCalendarRow).where(BusinessCalendarRow.organization_id == user.organization_id)
    )
    return {"calendars": [{"id": row.id, "name": row.name, "spec": row.spec} for row in rows]}


@router.post("/workflow/calendars", status_code=201, summary="Create (or replace by name) a calendar")
def post_calendar(body: CalendarIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    return _save_calendar(body, user, database, None)


@router.put("/workflow/calendars/{calendar_id}", summary="Replace a calendar")
def put_calendar(calendar_id: int, body: CalendarIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    return _save_calendar(body, user, database, calendar_id)


def _save_calendar(body: CalendarIn, user: User, database: Any, calendar_id: int | None) -> dict[str, Any]:
    access.require(user, "workflow")
    spec = body.yaml if body.yaml is not None else body.spec
    if spec is None:
        raise HTTPException(422, "send yaml or spec")
    with database.session() as session:
        row = do_save_calendar(session, user=user, spec=spec, calendar_id=calendar_id)
        return {"id": row.id, "name": row.name, "spec": row.spec}


class ChannelWorkflowIn(BaseModel):
    calendar_id: int | None = None
    auto_reply_enabled: bool | None = None
    auto_reply_text: str | None = Field(default=None, max_length=2000)
    csat_enabled: bool | None = None
    csat_mode: Literal["message", "link"] | None = None
    team_id: int | None = None


def _channel(session: Any, user: User, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"channel {channel_id}")
    return channel  # type: ignore[no-any-return]


@router.get("/channels/{channel_id}/workflow", summary="A channel's calendar, auto-reply and CSAT settings")
def get_channel_workflow(channel_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    channel = _channel(session, user, channel_id)
    row = session.get(ChannelWorkflow, channel.id)
    return {
        "channel_id": channel.id,
        "team_id": channel.team_id,
        "calendar_id": row.calendar_id if row else None,
        "auto_reply_enabled": bool(row and row.auto_reply_enabled),
        "auto_reply_text": row.auto_reply_text if row else "",
        "csat_enabled": bool(row and row.csat_enabled),
        "csat_mode": row.csat_mode if row else "message",
    }


@router.put("/channels/{channel_id}/workflow", summary="Set a channel's calendar, auto-reply, CSAT, team")
def put_channel_workflow(
    channel_id: int, body: ChannelWorkflowIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        channel = _channel(session, user, channel_id)
        do_set_channel_workflow(session, user=user, channel=channel, **body.model_dump(exclude_none=True))
    with database.reader() as session:
        return get_channel_workflow(channel_id, user, session)


@router.get("/teams", summary="Teams with their members and assignment settings")
def list_teams(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    teams = session.scalars(
        select(Team).where(Team.organization_id == user.organization_id).order_by(Team.id)
    )
    result = []
    for team in teams:
        settings = session.get(TeamWorkflow, team.id)
        members = list(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
        result.append(
            {
                "id": team.id,
                "slug": team.slug,
                "name": team.name,
                "members": members,
                "strategy": settings.strategy if settings else "round_robin",
                "sticky_hours": settings.sticky_hours if settings else 72.0,
                "sticky_wait_minutes": settings.sticky_wait_minutes if settings else 0.0,
            }
        )
    return {"teams": result}


class TeamWorkflowIn(BaseModel):
    strategy: Literal["round_robin", "least_loaded", "manual"] | None = None
    sticky_hours: float | None = Field(default=None, ge=0, le=24 * 90)
    sticky_wait_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    fallback: bool | None = None


@router.put("/teams/{team_id}/workflow", summary="How a team assigns conversations")
def put_team_workflow(
    team_id: int, body: TeamWorkflowIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        team = session.get(Team, team_id)
        if team is None or team.organization_id != user.organization_id:
            raise access.NotFound(f"team {team_id}")
        row = do_set_team_workflow(session, user=user, team=team, **body.model_dump(exclude_none=True))
        return {"team_id": team.id, "strategy": row.strategy, "sticky_hours": row.sticky_hours}


class MemberIn(BaseModel):
    user_id: int


@router.post("/teams/{team_id}/members", summary="Add a member to a team (supervisors)")
def post_team_member(team_id: int, body: MemberIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        team = access.access_team(session, user, team_id)
        member = access.access_agent(session, user, body.user_id)
        do_add_team_member(session, team=team, user=member, actor_user=user)
        return {"team_id": team.id, "members": _members(session, team.id)}


@router.delete("/teams/{team_id}/members/{user_id}", summary="Take a member out of a team (supervisors)")
def delete_team_member(team_id: int, user_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        team = access.access_team(session, user, team_id)
        member = access.access_agent(session, user, user_id)
        do_remove_team_member(session, team=team, user=member, actor_user=user)
        return {"team_id": team.id, "members": _members(session, team.id)}


def _members(session: Session, team_id: int) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.user_id).where(TeamMember.team_id == team_id).order_by(TeamMember.user_id)
        )
    )


class ProfileIn(BaseModel):
    online: bool | None = None
    languages: list[str] | None = None
    channels: list[str] | None = None
    topics: list[str] | None = None
    capacity: dict[str, int] | None = None


def _profile_json(profile: Any) -> dict[str, Any]:
    return {
        "user_id": profile.user_id,
        "online": profile.online,
        "languages": profile.languages,
        "channels": profile.channels,
        "topics": profile.topics,
        "capacity": profile.capacity,
    }


@router.put("/agents/{user_id}/profile", summary="An agent's presence, skills and capacity (supervisors)")
def put_agent_profile(user_id: int, body: ProfileIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    if user_id != user.id:
        access.require(user, "workflow")
    with database.session() as session:
        agent = session.get(User, user_id)
        if agent is None or agent.organization_id != user.organization_id:
            raise access.NotFound(f"user {user_id}")
        return _profile_json(
            do_set_agent_profile(session, user=user, agent=agent, **body.model_dump(exclude_none=True))
        )


class PresenceIn(BaseModel):
    online: bool


@router.post("/me/presence", summary="Set yourself available (online) or away for assignment")
def set_my_presence(body: PresenceIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        me = session.get_one(User, user.id)
        return _profile_json(do_set_agent_profile(session, user=me, agent=me, online=body.online))


@router.get("/me/profile", summary="Your presence, skills and capacity")
def my_profile(user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        return _profile_json(profile_of(session, user.id))


# one conversation ---------------------------------------------------------------------------------


@router.get(
    "/conversations/{conversation_id}/workflow", summary="Owner, why routed here, SLA clocks, timeline"
)
def get_workflow(conversation_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return read_workflow(session, user, conversation_id).as_json()


class StatusIn(BaseModel):
    status: Literal["open", "pending", "snoozed", "resolved", "closed"]
    snooze_until: datetime | None = None


@router.post("/conversations/{conversation_id}/status", summary="Change the status (snooze until a time)")
def post_status(conversation_id: int, body: StatusIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        do_set_status(
            session, user=user, conversation=conversation, status=body.status, snooze_until=body.snooze_until
        )
    with database.reader() as session:
        return read_workflow(session, user, conversation_id).as_json()


class AssignIn(BaseModel):
    team_id: int | None = None
    assignee_id: int | None = None
    unassign: bool = False


@router.post("/conversations/{conversation_id}/assign", summary="Assign to a team and/or agent")
def post_assign(conversation_id: int, body: AssignIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        do_assign(
            session,
            user=user,
            conversation=conversation,
            team_id=body.team_id,
            assignee_id=body.assignee_id,
            unassign=body.unassign,
        )
    with database.reader() as session:
        return read_workflow(session, user, conversation_id).as_json()


class HandOverIn(BaseModel):
    assignee_id: int
    note: str = Field(min_length=1, max_length=5000)


@router.post("/conversations/{conversation_id}/handover", summary="Hand over to a colleague with a note")
def post_handover(
    conversation_id: int, body: HandOverIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        do_hand_over(
            session, user=user, conversation=conversation, assignee_id=body.assignee_id, note=body.note
        )
    with database.reader() as session:
        return read_workflow(session, user, conversation_id).as_json()


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10000)


@router.post(
    "/conversations/{conversation_id}/notes", status_code=201, summary="Add an internal note (@mentions)"
)
def post_note(conversation_id: int, body: NoteIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        note = do_add_note(session, user=user, conversation=conversation, text=body.text)
        return {"id": note.id, "mentions": note.mentions}


class DraftIn(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    reviewer_id: int | None = None
    submit: bool = False


@router.post(
    "/conversations/{conversation_id}/drafts",
    status_code=201,
    summary="Save a draft, ask a colleague to review it, or submit it for approval",
)
def post_draft(conversation_id: int, body: DraftIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        draft = do_save_draft(
            session,
            user=user,
            conversation=conversation,
            text=body.text,
            reviewer_id=body.reviewer_id,
            submit=body.submit,
        )
        return {"id": draft.id, "status": draft.status}


@router.get("/drafts", summary="The approval queue: drafts waiting for your review or approval")
def list_drafts(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return {
        "items": [
            {
                "id": draft.id,
                "conversation_id": conversation.id,
                "status": draft.status,
                "text": draft.text,
                "author_user_id": draft.author_user_id,
                "created_at": draft.created_at.isoformat(),
            }
            for draft, conversation in pending_drafts(session, user)
        ]
    }


class DecisionIn(BaseModel):
    comment: str = Field(default="", max_length=1000)
    text: str | None = Field(default=None, max_length=20000)


@router.post("/drafts/{draft_id}/approve", summary="Approve a draft: it is sent")
def approve_draft(draft_id: int, body: DecisionIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        draft = do_decide_draft(
            session, user=user, draft_id=draft_id, approve=True, comment=body.comment, text=body.text
        )
        return {"id": draft.id, "status": draft.status, "message_id": draft.message_id}


@router.post("/drafts/{draft_id}/reject", summary="Reject a draft with a comment")
def reject_draft(draft_id: int, body: DecisionIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        draft = do_decide_draft(session, user=user, draft_id=draft_id, approve=False, comment=body.comment)
        return {"id": draft.id, "status": draft.status}


class PresenceStateIn(BaseModel):
    state: Literal["viewing", "typing", "left"]


@router.post(
    "/conversations/{conversation_id}/presence", summary="Say you are viewing/typing; see who else is"
)
def post_presence(
    conversation_id: int, body: PresenceStateIn, user: ApiUser, session: ReadSession
) -> dict[str, Any]:
    access.require(user, "read")
    conversation = access.access_conversation(session, user, conversation_id)
    if body.state == "left":
        board.leave(conversation.id, user_id=user.id)
    else:
        board.touch(conversation.id, user_id=user.id, name=user.name, state=body.state)
    return {
        "others": [
            {"user_id": p.user_id, "name": p.name, "state": p.state}
            for p in board.others(conversation.id, user_id=user.id)
        ]
    }


class MovePrivateIn(BaseModel):
    public_reply: str | None = Field(default=None, max_length=8000)


@router.post(
    "/conversations/{conversation_id}/move-to-private",
    status_code=201,
    summary="Continue a public comment in a private conversation (same owner, both linked)",
)
def post_move_private(
    conversation_id: int, body: MovePrivateIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        private = do_move_to_private(
            session, user=user, conversation=conversation, public_reply=body.public_reply
        )
        return {"conversation_id": private.id, "linked_conversation_id": conversation.id}


# canned responses and bulk replies ------------------------------------------------------------------


class CannedIn(BaseModel):
    shortcut: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=20000)
    title: str = Field(default="", max_length=200)
    brand_id: int | None = None
    language: str | None = Field(default=None, max_length=8)


def _canned_json(row: CannedResponse) -> dict[str, Any]:
    return {
        "id": row.id,
        "shortcut": row.shortcut,
        "title": row.title,
        "text": row.text,
        "brand_id": row.brand_id,
        "language": row.language,
    }


@router.get("/canned-responses", summary="Canned responses (with variables)")
def list_canned(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    rows = session.scalars(
        select(CannedResponse)
        .where(CannedResponse.organization_id == user.organization_id)
        .order_by(CannedResponse.shortcut, CannedResponse.id)
    )
    return {"items": [_canned_json(row) for row in rows]}


@router.post("/canned-responses", status_code=201, summary="Create or replace a canned response")
def post_canned(body: CannedIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        return _canned_json(do_save_canned(session, user=user, **body.model_dump()))


@router.delete("/canned-responses/{canned_id}", status_code=204, summary="Delete a canned response")
def delete_canned(canned_id: int, user: ApiUser, database: DatabaseDep) -> None:
    access.require(user, "reply")
    with database.session() as session:
        do_delete_canned(session, user=user, canned_id=canned_id)


@router.get(
    "/conversations/{conversation_id}/canned-responses",
    summary="Canned responses for this conversation's brand and language, variables filled in",
)
def conversation_canned(conversation_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    conversation = access.access_conversation(session, user, conversation_id)
    return {
        "items": [
            {"id": c.id, "shortcut": c.shortcut, "title": c.title, "text": c.text}
            for c in canned_for_conversation(session, conversation=conversation, agent=user)
        ]
    }


class BulkIn(BaseModel):
    conversation_ids: list[int] = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=20000)


@router.post(
    "/replies/bulk", status_code=202, summary="Reply to many conversations, personalised per customer"
)
def post_bulk(body: BulkIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        results = do_bulk_reply(session, user=user, conversation_ids=body.conversation_ids, text=body.text)
        return {
            "results": [
                {"conversation_id": r.conversation_id, "message_id": r.message_id, "error": r.error or None}
                for r in results
            ]
        }


# contacts, notifications, CSAT --------------------------------------------------------------------


@router.get("/contacts/{contact_id}", summary="A customer across channels: identities, conversations, merges")
def get_contact(contact_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    found = contact_json(session, user, contact_id)
    if found is None:
        raise access.NotFound(f"contact {contact_id}")
    return found


class ContactTagsIn(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


@router.post(
    "/contacts/{contact_id}/tags",
    summary="Tag a customer or take tags off (routing rules ask with customer_tags)",
)
def post_contact_tags(
    contact_id: int, body: ContactTagsIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        tags = do_set_contact_tags(
            session, user=user, contact_id=contact_id, add=body.add, remove=body.remove
        )
        return {"id": contact_id, "tags": tags}


class MergeIn(BaseModel):
    source_contact_id: int
    target_contact_id: int


@router.post("/contacts/merges", status_code=201, summary="Merge two contacts into one customer (undoable)")
def post_merge(body: MergeIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        merge = do_merge_contacts(
            session,
            user=user,
            source_contact_id=body.source_contact_id,
            target_contact_id=body.target_contact_id,
        )
        return {"id": merge.id, "identities": merge.identity_ids, "conversations": merge.conversation_ids}


@router.post("/contacts/merges/{merge_id}/undo", summary="Undo a contact merge")
def post_undo_merge(merge_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        merge = do_undo_merge(session, user=user, merge_id=merge_id)
        return {"id": merge.id, "undone_at": merge.undone_at.isoformat() if merge.undone_at else None}


@router.get("/notifications", summary="Your notifications (mentions, assignments, SLA warnings and breaches)")
def list_notifications(user: ApiUser, session: ReadSession, unread: bool = False) -> dict[str, Any]:
    return notifications_json(session, user, unread_only=unread)


class ReadIn(BaseModel):
    ids: list[int] | None = None


@router.post("/notifications/read", summary="Mark notifications read (all when no ids)")
def read_notifications(body: ReadIn, user: ApiUser, database: DatabaseDep) -> dict[str, int]:
    with database.session() as session:
        return {"marked": do_mark_notifications_read(session, user=user, ids=body.ids)}


@router.get("/csat", summary="CSAT answers with their conversation, agent and team")
def list_csat(user: ApiUser, session: ReadSession, brand_id: int | None = None) -> dict[str, Any]:
    access.require(user, "report")
    brands = [b for b in access.brand_ids(session, user) if brand_id is None or b == brand_id]
    rows = session.execute(
        select(CsatSurvey, Conversation.brand_id)
        .join(Conversation, Conversation.id == CsatSurvey.conversation_id)
        .where(Conversation.brand_id.in_(brands))
        .order_by(CsatSurvey.id.desc())
        .limit(1000)
    ).all()
    items = [
        {
            "id": survey.id,
            "conversation_id": survey.conversation_id,
            "brand_id": brand,
            "agent_user_id": survey.agent_user_id,
            "team_id": survey.team_id,
            "rating": survey.rating,
            "comment": survey.comment,
            "sent_at": survey.sent_at.isoformat(),
            "answered_at": survey.answered_at.isoformat() if survey.answered_at else None,
        }
        for survey, brand in rows
    ]
    answered = [item for item in items if item["rating"]]
    happy = sum(1 for item in answered if item["rating"] == "happy")
    return {
        "sent": len(items),
        "answered": len(answered),
        "happy_share": happy / len(answered) if answered else None,
        "items": items,
    }
