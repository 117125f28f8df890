"""The web UI of the conversation workflow: the workflow panel beside a conversation (owner, why routed
here, SLA countdowns, status buttons, assignment and hand-over, notes, timeline, the customer's other
conversations, who else is here), canned responses and "ask for review" in the reply box, the rules
editor (YAML import/export with the engine's validation errors), the approval queue, notifications,
and the public CSAT page. Thin: parse, authorize via ``access``, call one action, render autoescaped
templates (customer text is never marked safe)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.canned import canned_for_conversation, do_delete_canned, do_save_canned
from tilsvar.actions.common import ActionError
from tilsvar.actions.contacts import (
    PRIVATE_PLATFORMS,
    do_merge_contacts,
    do_move_to_private,
    do_set_contact_tags,
    do_undo_merge,
)
from tilsvar.actions.csat import do_answer_survey, survey_for_token
from tilsvar.actions.drafts import do_decide_draft, do_save_draft, pending_drafts
from tilsvar.actions.notes import do_add_note, do_mark_notifications_read
from tilsvar.actions.org import do_add_team_member, do_remove_team_member
from tilsvar.actions.workflow import do_assign, do_hand_over, do_set_status
from tilsvar.actions.workflow_config import (
    STRATEGIES,
    do_save_calendar,
    do_save_routing_rules,
    do_save_sla_policies,
    do_set_agent_profile,
    do_set_channel_workflow,
    do_set_team_workflow,
    export_rules_yaml,
)
from tilsvar.api.deps import DatabaseDep
from tilsvar.models import Channel, Conversation, Team, TeamMember, User, utcnow
from tilsvar.models.workflow import (
    AgentProfile,
    BusinessCalendarRow,
    CannedResponse,
    ChannelWorkflow,
    SlaPolicyRow,
    TeamWorkflow,
    WorkflowConfig,
)
from tilsvar.presence import board
from tilsvar.web import i18n
from tilsvar.web.i18n import N_
from tilsvar.web.routes import _conversation_values, not_found, render, templates
from tilsvar.web.session import CsrfUser, WebContext, WebUser
from tilsvar.workflow_view import notifications_json, read_workflow

router = APIRouter(include_in_schema=False)


def _panel_values(database: Any, context: WebContext, conversation_id: int) -> dict[str, Any]:
    with database.reader() as session:
        view = read_workflow(session, context.user, conversation_id)
        user = context.user
        teams = list(
            session.scalars(
                select(Team).where(Team.organization_id == user.organization_id).order_by(Team.name)
            )
        )
        members = session.execute(
            select(User.id, User.name)
            .where(User.organization_id == user.organization_id, User.is_active.is_(True))
            .order_by(User.name)
        ).all()
        movable = session.execute(
            select(Conversation.kind, Channel.platform)
            .join(Channel, Channel.id == Conversation.channel_id)
            .where(Conversation.id == conversation_id)
        ).first()
    board.touch(conversation_id, user_id=context.user.id, name=context.user.name, state="viewing")
    return {
        "can_move_private": access.can(context.user, "reply")
        and movable is not None
        and movable.kind in ("comment", "post")
        and movable.platform in PRIVATE_PLATFORMS
        and view.linked_conversation_id is None,
        "w": view,
        "teams": teams,
        "colleagues": [(uid, name) for uid, name in members if access.can(context.user, "reply")],
        "others": board.others(conversation_id, user_id=context.user.id),
        "can_reply": access.can(context.user, "reply"),
        "now": utcnow(),
        "error": "",
    }


@router.get("/conversations/{conversation_id}/workflow")
def workflow_panel(
    request: Request, database: DatabaseDep, context: WebUser, conversation_id: int
) -> HTMLResponse:
    try:
        values = _panel_values(database, context, conversation_id)
    except access.NotFound:
        return not_found(request, context)
    return render(request, "_workflow_panel.html", context, **values)


def _panel_after(
    request: Request, database: Any, context: WebContext, conversation_id: int, error: str = ""
) -> Response:
    if not request.headers.get("HX-Request"):
        return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)
    values = _panel_values(database, context, conversation_id)
    values["error"] = error
    response = render(request, "_workflow_panel.html", context, status_code=422 if error else 200, **values)
    response.headers["HX-Trigger"] = "thread-refresh"
    return response


def _panel_action(
    request: Request,
    database: Any,
    context: WebContext,
    conversation_id: int,
    act: Callable[[Session, Conversation], Any],
    *,
    done: Callable[[Any], Response] | None = None,
) -> Response:
    """A conversation panel form: with the *reply* permission, run ``act`` on the conversation in one
    transaction, then answer with the panel (or ``done(result)``); an action's refusal is shown in the
    panel, an unknown conversation is a 404 page and a missing permission a 403."""
    try:
        access.require(context.user, "reply")
        with database.session() as session:
            result = act(session, access.access_conversation(session, context.user, conversation_id))
    except access.NotFound:
        return not_found(request, context)
    except access.Forbidden as error:
        raise HTTPException(403, str(error)) from error
    except ActionError as error:
        return _panel_after(request, database, context, conversation_id, error.reason)
    return done(result) if done is not None else _panel_after(request, database, context, conversation_id)


@router.post("/conversations/{conversation_id}/status")
def set_status(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    status: Annotated[str, Form()],
    snooze_until: Annotated[str, Form()] = "",
) -> Response:
    def act(session: Session, conversation: Conversation) -> None:
        until = None
        if status == "snoozed":
            try:
                until = datetime.fromisoformat(snooze_until)
            except ValueError:
                raise ActionError("choose when the conversation should wake up") from None
            if until.tzinfo is None:
                until = until.replace(tzinfo=UTC)
        do_set_status(
            session, user=context.user, conversation=conversation, status=status, snooze_until=until
        )

    return _panel_action(request, database, context, conversation_id, act)


@router.post("/conversations/{conversation_id}/assign")
def assign(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    team_id: Annotated[str, Form()] = "",
    assignee_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def act(session: Session, conversation: Conversation) -> None:
        if note.strip() and assignee_id.isdigit():
            do_hand_over(
                session, user=context.user, conversation=conversation, assignee_id=int(assignee_id), note=note
            )
        else:
            do_assign(
                session,
                user=context.user,
                conversation=conversation,
                team_id=int(team_id) if team_id.isdigit() else None,
                assignee_id=int(assignee_id) if assignee_id.isdigit() else None,
                unassign=assignee_id == "none",
            )

    return _panel_action(request, database, context, conversation_id, act)


@router.post("/conversations/{conversation_id}/notes")
def add_note(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    text: Annotated[str, Form()] = "",
) -> Response:
    return _panel_action(
        request,
        database,
        context,
        conversation_id,
        lambda session, conversation: do_add_note(
            session, user=context.user, conversation=conversation, text=text
        ),
    )


@router.post("/conversations/{conversation_id}/customer-tags")
def set_customer_tags(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    add: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
) -> Response:
    """Tag the conversation's customer (comma-separated) or take one tag off."""

    def act(session: Session, conversation: Conversation) -> None:
        if conversation.contact_id is None:
            raise ActionError(N_("this conversation has no known customer"), status=422)
        do_set_contact_tags(
            session,
            user=context.user,
            contact_id=conversation.contact_id,
            add=add.split(","),
            remove=[remove] if remove else [],
        )

    return _panel_action(request, database, context, conversation_id, act)


@router.post("/conversations/{conversation_id}/contact-merge")
def merge_contact(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    source_contact_id: Annotated[str, Form()] = "",
    undo_merge_id: Annotated[str, Form()] = "",
) -> Response:
    """Merge another customer (by contact id) into this conversation's customer, or undo a merge."""
    try:
        access.require(context.user, "reply")
        with database.session() as session:
            conversation = access.access_conversation(session, context.user, conversation_id)
    except access.NotFound:
        return not_found(request, context)
    except access.Forbidden as error:
        raise HTTPException(403, str(error)) from error
    try:
        with database.session() as session:
            if undo_merge_id.isdigit():
                do_undo_merge(session, user=context.user, merge_id=int(undo_merge_id))
            elif conversation.contact_id is None:
                raise ActionError(N_("this conversation has no known customer"), status=422)
            elif not source_contact_id.strip().isdigit():
                raise ActionError(N_("give the number of the customer to merge into this one"), status=422)
            else:
                do_merge_contacts(
                    session,
                    user=context.user,
                    source_contact_id=int(source_contact_id),
                    target_contact_id=conversation.contact_id,
                )
    except access.NotFound as error:  # the other customer or the merge, not the conversation
        return _panel_after(request, database, context, conversation_id, f"no {error}")
    except ActionError as error:
        return _panel_after(request, database, context, conversation_id, error.reason)
    return _panel_after(request, database, context, conversation_id)


@router.post("/conversations/{conversation_id}/move-to-private")
def move_to_private(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    public_reply: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Continue a public comment in the customer's private conversation (same owner), and open it."""

    def act(session: Session, conversation: Conversation) -> int:
        reply = public_reply.strip() or None
        return do_move_to_private(
            session, user=context.user, conversation=conversation, public_reply=reply
        ).id

    def done(private_id: int) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": f"/conversations/{private_id}"})
        return RedirectResponse(f"/conversations/{private_id}", status_code=303)

    return _panel_action(request, database, context, conversation_id, act, done=done)


@router.post("/conversations/{conversation_id}/typing")
def typing(conversation_id: int, database: DatabaseDep, context: CsrfUser) -> Response:
    with database.reader() as session:
        access.access_conversation(session, context.user, conversation_id)
    board.touch(conversation_id, user_id=context.user.id, name=context.user.name, state="typing")
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/reply-box")
def reply_box(
    request: Request, database: DatabaseDep, context: WebUser, conversation_id: int, canned: int | None = None
) -> HTMLResponse:
    """The reply area, with a canned response's text (variables filled in) when one was chosen."""
    try:
        values = _conversation_values(database, context, conversation_id)
    except access.NotFound:
        return not_found(request, context)
    text = ""
    with database.reader() as session:
        conversation = access.access_conversation(session, context.user, conversation_id)
        choices = canned_for_conversation(session, conversation=conversation, agent=context.user)
    if canned is not None:
        text = next((choice.text for choice in choices if choice.id == canned), "")
    return render(request, "_reply_area.html", context, text=text, error="", canned=choices, **values)


@router.post("/conversations/{conversation_id}/draft")
def save_draft(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    text: Annotated[str, Form()] = "",
    reviewer_id: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    try:
        access.require(context.user, "reply")
        if any(upload.filename for upload in files or []):
            # Drafts keep text only (docs/ui.md): refuse rather than drop the chosen files silently.
            raise ActionError("a draft for approval cannot carry files yet: send the files after approval")
        with database.session() as session:
            conversation = access.access_conversation(session, context.user, conversation_id)
            do_save_draft(
                session,
                user=context.user,
                conversation=conversation,
                text=text,
                reviewer_id=int(reviewer_id) if reviewer_id.isdigit() else None,
                submit=not reviewer_id.isdigit(),
            )
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        values = _conversation_values(database, context, conversation_id)
        return render(
            request, "_reply_area.html", context, status_code=422, text=text, error=error.reason, **values
        )
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


# rules, SLA policies, calendars -------------------------------------------------------------------


def _config_values(database: Any, context: WebContext) -> dict[str, Any]:
    with database.reader() as session:
        rules_yaml = export_rules_yaml(session, context.user.organization_id)
        policies = [
            row.spec
            for row in session.scalars(
                select(SlaPolicyRow)
                .where(SlaPolicyRow.organization_id == context.user.organization_id)
                .order_by(SlaPolicyRow.position)
            )
        ]
        calendars = list(
            session.scalars(
                select(BusinessCalendarRow).where(
                    BusinessCalendarRow.organization_id == context.user.organization_id
                )
            )
        )
    return {
        "rules_yaml": rules_yaml,
        "policies_yaml": yaml.safe_dump({"policies": policies}, sort_keys=False, allow_unicode=True)
        if policies
        else "",
        "calendars": [
            (row.id, row.name, yaml.safe_dump(row.spec, sort_keys=False, allow_unicode=True))
            for row in calendars
        ],
        "can_edit": access.can(context.user, "workflow"),
        "error": "",
        "saved": "",
        "saved_values": {},
    }


@router.get("/workflow")
def workflow_settings(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    access.require(context.user, "read")
    return render(request, "workflow_settings.html", context, **_config_values(database, context))


@router.post("/workflow/{what}")
def save_workflow_settings(
    request: Request, database: DatabaseDep, context: CsrfUser, what: str, text: Annotated[str, Form()] = ""
) -> Response:
    access.require(context.user, "workflow")
    try:
        with database.session() as session:
            if what == "rules":
                do_save_routing_rules(session, user=context.user, rules=text)
            elif what == "policies":
                data = yaml.safe_load(text) if text.strip() else {"policies": []}
                items = data.get("policies") if isinstance(data, dict) else data
                if not isinstance(items, list):
                    raise ActionError("write policies: [ ... ]", status=422)
                do_save_sla_policies(session, user=context.user, policies=items)
            elif what == "calendar":
                do_save_calendar(session, user=context.user, spec=text)
            else:
                raise HTTPException(404, "unknown setting")
    except (ActionError, yaml.YAMLError) as error:
        values = _config_values(database, context)
        reason = error.reason if isinstance(error, ActionError) else f"not valid YAML: {error}"
        values["error"] = f"{what}: {reason}"
        values[{"rules": "rules_yaml", "policies": "policies_yaml"}.get(what, "calendar_text")] = text
        return render(request, "workflow_settings.html", context, status_code=422, **values)
    values = _config_values(database, context)
    values["saved"] = {"rules": N_("rules saved"), "policies": N_("policies saved")}.get(
        what, N_("calendar saved")
    )
    return render(request, "workflow_settings.html", context, **values)


# teams and agents ----------------------------------------------------------------------------------

CAPACITY_KEYS = (("social", "capacity_social"), ("email", "capacity_email"), ("chat", "capacity_chat"))


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _team_values(database: Any, context: WebContext) -> dict[str, Any]:
    organization_id = context.user.organization_id
    with database.reader() as session:
        teams = list(
            session.scalars(select(Team).where(Team.organization_id == organization_id).order_by(Team.name))
        )
        settings = {
            row.team_id: row
            for row in session.scalars(
                select(TeamWorkflow).where(TeamWorkflow.team_id.in_([team.id for team in teams]))
            )
        }
        members: dict[int, list[int]] = {team.id: [] for team in teams}
        for team_id, user_id in session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(list(members)))
        ):
            members[team_id].append(user_id)
        users = list(
            session.scalars(select(User).where(User.organization_id == organization_id).order_by(User.name))
        )
        profiles = {
            row.user_id: row
            for row in session.scalars(
                select(AgentProfile).where(AgentProfile.user_id.in_([user.id for user in users]))
            )
        }
        fallback = session.scalar(
            select(WorkflowConfig.fallback_team_id).where(WorkflowConfig.organization_id == organization_id)
        )
        channels = [
            (channel, session.get(ChannelWorkflow, channel.id))
            for channel in access.visible_channels(session, context.user)
        ]
        calendars = list(
            session.execute(
                select(BusinessCalendarRow.id, BusinessCalendarRow.name)
                .where(BusinessCalendarRow.organization_id == organization_id)
                .order_by(BusinessCalendarRow.name)
            )
        )
    names = {user.id: user.name for user in users}
    return {
        "teams": [
            {
                "id": team.id,
                "name": team.name,
                "slug": team.slug,
                "strategy": settings[team.id].strategy if team.id in settings else "round_robin",
                "sticky_hours": settings[team.id].sticky_hours if team.id in settings else 72.0,
                "sticky_wait_minutes": settings[team.id].sticky_wait_minutes if team.id in settings else 0.0,
                "fallback": team.id == fallback,
                "members": sorted(
                    ((uid, names.get(uid, str(uid))) for uid in members[team.id]), key=lambda m: m[1]
                ),
                "candidates": [(u.id, u.name) for u in users if u.is_active and u.id not in members[team.id]],
            }
            for team in teams
        ],
        "agents": [
            {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "role": user.role,
                "online": bool(profiles[user.id].online) if user.id in profiles else False,
                "languages": ", ".join(profiles[user.id].languages) if user.id in profiles else "",
                "channels": ", ".join(profiles[user.id].channels) if user.id in profiles else "",
                "topics": ", ".join(profiles[user.id].topics) if user.id in profiles else "",
                "capacity": dict(profiles[user.id].capacity) if user.id in profiles else {},
            }
            for user in users
            if user.is_active
        ],
        "channels": [
            {
                "id": channel.id,
                "name": f"{channel.platform}:{channel.account}",
                "team_id": channel.team_id,
                "calendar_id": row.calendar_id if row else None,
                "auto_reply_enabled": bool(row and row.auto_reply_enabled),
                "auto_reply_text": row.auto_reply_text if row else "",
                "csat_enabled": bool(row and row.csat_enabled),
                "csat_mode": row.csat_mode if row else "message",
            }
            for channel, row in channels
        ],
        "calendars": [(calendar_id, name) for calendar_id, name in calendars],
        "team_choices": [(team.id, team.name) for team in teams],
        "strategies": STRATEGIES,
        "error": "",
        "saved": "",
        "saved_values": {},
    }


def _teams_page(
    request: Request,
    database: Any,
    context: WebContext,
    *,
    error: str = "",
    saved: str = "",
    **saved_values: str,
) -> HTMLResponse:
    """``saved`` is marked with ``N_``; its ``%(name)s`` values are filled in after translation."""
    values = _team_values(database, context)
    values.update(error=error, saved=saved, saved_values=saved_values)
    return render(request, "workflow_teams.html", context, status_code=422 if error else 200, **values)


@router.get("/workflow/teams")
def team_settings(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    """Teams (members, how they assign, sticky owner) and agents (presence, skills, capacity)."""
    access.require(context.user, "workflow")
    return _teams_page(request, database, context)


def _number(value: str, what: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError as error:
        raise ActionError(f"{what} must be a number", status=422) from error


@router.post("/workflow/teams/{team_id}")
def save_team(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    team_id: int,
    strategy: Annotated[str, Form()] = "",
    sticky_hours: Annotated[str, Form()] = "",
    sticky_wait_minutes: Annotated[str, Form()] = "",
    fallback: Annotated[str, Form()] = "",
) -> Response:
    try:
        with database.session() as session:
            team = access.access_team(session, context.user, team_id)
            do_set_team_workflow(
                session,
                user=context.user,
                team=team,
                strategy=strategy or None,
                sticky_hours=_number(sticky_hours, "sticky hours"),
                sticky_wait_minutes=_number(sticky_wait_minutes, "sticky wait"),
                fallback=bool(fallback) or None,
            )
            name = team.name
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        return _teams_page(request, database, context, error=error.reason)
    return _teams_page(request, database, context, saved=N_("%(name)s: saved"), name=name)


def _change_member(
    request: Request,
    database: DatabaseDep,
    context: WebContext,
    team_id: int,
    user_id: str,
    *,
    add: bool,
) -> Response:
    """Add a colleague to a team or remove one, then show the teams page with what happened."""
    try:
        with database.session() as session:
            team = access.access_team(session, context.user, team_id)
            if not user_id.isdigit():
                missing = N_("choose a colleague to add") if add else N_("choose a member to remove")
                raise ActionError(missing, status=422)
            member = access.access_agent(session, context.user, int(user_id))
            change = do_add_team_member if add else do_remove_team_member
            change(session, team=team, user=member, actor_user=context.user)
            member_name, team_name = member.name, team.name
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        return _teams_page(request, database, context, error=error.reason)
    done = N_("%(member)s added to %(team)s") if add else N_("%(member)s removed from %(team)s")
    return _teams_page(request, database, context, saved=done, member=member_name, team=team_name)


@router.post("/workflow/teams/{team_id}/members")
def add_member(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    team_id: int,
    user_id: Annotated[str, Form()] = "",
) -> Response:
    return _change_member(request, database, context, team_id, user_id, add=True)


@router.post("/workflow/teams/{team_id}/members/remove")
def remove_member(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    team_id: int,
    user_id: Annotated[str, Form()] = "",
) -> Response:
    return _change_member(request, database, context, team_id, user_id, add=False)


@router.post("/workflow/channels/{channel_id}")
def save_channel(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    channel_id: int,
    calendar_id: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
    auto_reply_enabled: Annotated[str, Form()] = "",
    auto_reply_text: Annotated[str, Form()] = "",
    csat_enabled: Annotated[str, Form()] = "",
    csat_mode: Annotated[str, Form()] = "message",
) -> Response:
    """A channel's business-hours calendar, default team, out-of-hours auto-reply and CSAT survey."""
    try:
        access.require(context.user, "workflow")
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            if channel is None or channel.brand_id not in access.brand_ids(session, context.user):
                raise access.NotFound(f"channel {channel_id}")
            do_set_channel_workflow(
                session,
                user=context.user,
                channel=channel,
                calendar_id=int(calendar_id) if calendar_id.isdigit() else None,
                team_id=int(team_id) if team_id.isdigit() else None,
                auto_reply_enabled=bool(auto_reply_enabled),
                auto_reply_text=auto_reply_text,
                csat_enabled=bool(csat_enabled),
                csat_mode=csat_mode,
            )
            name = f"{channel.platform}:{channel.account}"
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        return _teams_page(request, database, context, error=error.reason)
    return _teams_page(request, database, context, saved=N_("%(name)s: saved"), name=name)


@router.post("/workflow/agents/{user_id}")
def save_agent(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    user_id: int,
    online: Annotated[str, Form()] = "",
    languages: Annotated[str, Form()] = "",
    channels: Annotated[str, Form()] = "",
    topics: Annotated[str, Form()] = "",
    capacity_social: Annotated[str, Form()] = "",
    capacity_email: Annotated[str, Form()] = "",
    capacity_chat: Annotated[str, Form()] = "",
    capacity_default: Annotated[str, Form()] = "",
) -> Response:
    """One agent's presence, skills (languages, channels, topics) and capacity per channel key."""
    given = {"social": capacity_social, "email": capacity_email, "chat": capacity_chat, "*": capacity_default}
    try:
        access.require(context.user, "workflow")
        capacity: dict[str, int] = {}
        for key, value in given.items():
            number = _number(value, f"capacity ({key})")
            if number is not None:
                if number != int(number):
                    raise ActionError(f"capacity ({key}) must be a whole number", status=422)
                capacity[key] = int(number)
        with database.session() as session:
            agent = access.access_agent(session, context.user, user_id)
            do_set_agent_profile(
                session,
                user=context.user,
                agent=agent,
                online=bool(online),
                languages=_words(languages),
                channels=_words(channels),
                topics=_words(topics),
                capacity=capacity,
            )
            name = agent.name
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        return _teams_page(request, database, context, error=error.reason)
    return _teams_page(request, database, context, saved=N_("%(name)s: saved"), name=name)


# canned responses ----------------------------------------------------------------------------------


def _canned_page(
    request: Request,
    database: Any,
    context: WebContext,
    *,
    error: str = "",
    saved: str = "",
    saved_values: dict[str, str] | None = None,
    **form: str,
) -> HTMLResponse:
    """``saved`` is marked with ``N_``; ``saved_values`` fill its ``%(name)s`` after translation."""
    with database.reader() as session:
        brands = access.brands(session, context.user)
        visible = [brand.id for brand in brands]
        rows = list(
            session.scalars(
                select(CannedResponse)
                .where(
                    CannedResponse.organization_id == context.user.organization_id,
                    or_(CannedResponse.brand_id.is_(None), CannedResponse.brand_id.in_(visible)),
                )
                .order_by(CannedResponse.shortcut, CannedResponse.id)
            )
        )
    names = {brand.id: brand.name for brand in brands}
    return render(
        request,
        "workflow_canned.html",
        context,
        status_code=422 if error else 200,
        items=[
            {
                "id": row.id,
                "shortcut": row.shortcut,
                "title": row.title,
                "text": row.text,
                "brand": names.get(row.brand_id, "") if row.brand_id is not None else "",
                "language": row.language or "",
            }
            for row in rows
        ],
        brands=[(brand.id, brand.name) for brand in brands],
        can_edit=access.can(context.user, "reply"),
        error=error,
        saved=saved,
        saved_values=saved_values or {},
        form=form,
    )


@router.get("/workflow/canned")
def canned_responses(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    """Canned responses per brand and language, with variables and the brand's voice."""
    access.require(context.user, "read")
    return _canned_page(request, database, context)


@router.post("/workflow/canned/new")
def save_canned(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    shortcut: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    brand_id: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    access.require(context.user, "reply")
    try:
        with database.session() as session:
            do_save_canned(
                session,
                user=context.user,
                shortcut=shortcut,
                title=title,
                text=text,
                brand_id=int(brand_id) if brand_id.isdigit() else None,
                language=language.strip().lower() or None,
            )
    except ActionError as error:
        return _canned_page(
            request, database, context, error=error.reason, shortcut=shortcut, title=title, text=text
        )
    return _canned_page(
        request, database, context, saved=N_("%(name)s: saved"), saved_values={"name": shortcut.strip()}
    )


@router.post("/workflow/canned/{canned_id}/delete")
def delete_canned(request: Request, database: DatabaseDep, context: CsrfUser, canned_id: int) -> Response:
    access.require(context.user, "reply")
    try:
        with database.session() as session:
            do_delete_canned(session, user=context.user, canned_id=canned_id)
    except ActionError as error:
        return _canned_page(request, database, context, error=error.reason)
    return _canned_page(request, database, context, saved=N_("deleted"))


# approvals and notifications -----------------------------------------------------------------------


@router.get("/approvals")
def approvals(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    with database.reader() as session:
        items = pending_drafts(session, context.user)
    return render(request, "approvals.html", context, items=items)


@router.post("/approvals/{draft_id}")
def decide(
    database: DatabaseDep,
    context: CsrfUser,
    draft_id: int,
    decision: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    with database.session() as session:
        do_decide_draft(
            session, user=context.user, draft_id=draft_id, approve=decision == "approve", comment=comment
        )
    return RedirectResponse("/approvals", status_code=303)


@router.get("/notifications")
def notifications(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    with database.reader() as session:
        data = notifications_json(session, context.user)
    return render(request, "notifications.html", context, data=data)


@router.post("/notifications/read")
def notifications_read(database: DatabaseDep, context: CsrfUser) -> Response:
    with database.session() as session:
        do_mark_notifications_read(session, user=context.user)
    return RedirectResponse("/notifications", status_code=303)


# the public CSAT page -------------------------------------------------------------------------------

FACES = [("happy", "😊", N_("Good")), ("neutral", "😐", N_("Okay")), ("sad", "☹️", N_("Bad"))]


def _customer_language(session: Session, conversation_id: int | None) -> str:
    """The survey page speaks the customer's language when the conversation's is one of the UI's
    ("" = the browser's)."""
    if conversation_id is None:
        return ""
    conversation = session.get(Conversation, conversation_id)
    return i18n.normalize(conversation.language if conversation else None)


@router.get("/csat/{token}")
def csat_page(request: Request, database: DatabaseDep, token: str) -> HTMLResponse:
    with database.reader() as session:
        survey = survey_for_token(session, token)
        language = _customer_language(session, survey.conversation_id if survey else None)
    if survey is None:
        return render(
            request,
            "error.html",
            None,
            status_code=404,
            title=N_("Not found"),
            message=N_("This survey link is not valid."),
        )
    return render(
        request,
        "csat.html",
        None,
        token=token,
        faces=FACES,
        rating=survey.rating,
        thanks=False,
        lang=language,
    )


@router.post("/csat/{token}")
def csat_answer(
    request: Request,
    database: DatabaseDep,
    token: str,
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """No sign-in and no CSRF token: the signed survey token in the URL is the customer's key."""
    try:
        with database.session() as session:
            survey = do_answer_survey(session, token=token, rating=rating, comment=comment)
            chosen = survey.rating
            language = _customer_language(session, survey.conversation_id)
    except ActionError as error:
        return render(
            request, "error.html", None, status_code=error.status, title=N_("Sorry"), message=error.reason
        )
    return render(
        request, "csat.html", None, token=token, faces=FACES, rating=chosen, thanks=True, lang=language
    )


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


templates.env.filters["as_json"] = as_json
