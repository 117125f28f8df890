"""``/api/v1``: conversations, replies, the generic API channel's inbound messages, jobs and reports."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from tilsvar import access, inbox
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.jobs import do_retry_job
from tilsvar.actions.moderation import do_clear_flag, do_moderate_message
from tilsvar.actions.replies import do_reply, do_retry_reply
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.api.schemas import ClearFlagIn, InboxPageOut, ModerationIn
from tilsvar.channels import Author, InboundMessage, normalize_account
from tilsvar.models import Job, Message, RawEvent, utcnow
from tilsvar.privacy.sealing import seal_raw
from tilsvar.reports.kpis import Period, compute_report
from tilsvar.search.saved import inbox_scope

router = APIRouter(prefix="/api/v1")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str


@router.get("/me", response_model=UserOut, summary="The calling user")
def me(user: ApiUser) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role)


@router.get(
    "/conversations",
    summary="List conversations (the inbox)",
    response_model=InboxPageOut,
    response_class=JSONResponse,
)
def list_conversations(
    user: ApiUser,
    session: ReadSession,
    view: inbox.View = "unanswered",
    sort: inbox.Sort | None = None,
    platform: str | None = None,
    brand_id: int | None = None,
    channel_id: int | None = None,
    status: str | None = None,
    language: str | None = None,
    intent: str | None = None,
    sentiment: str | None = None,
    priority: str | None = None,
    has_pii: bool | None = None,
    flagged: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    q: Annotated[str | None, Query(max_length=1000)] = None,
    saved_search_id: int | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    mine: bool = False,
    unassigned: bool | None = None,
) -> JSONResponse:
    """Conversations the caller may see. `view=unanswered` (default) lists those waiting for the brand,
    longest waiting first; `urgent` (high or urgent priority, most urgent first), `personal_data`
    (a customer exposed personal data in public), `flagged` (moderation flagged or hid a message).
    `sort=newest_waiting`, `recent` or `priority` change the order. Filter by the understanding
    pipeline's labels with `language`, `intent`, `sentiment`, `priority`, `has_pii`, `flagged`.
    Page with `cursor`. Workflow queues: `team_id`, `assignee_id`, `mine=true` (assigned to you),
    `unassigned=true`; each row carries `team_id` and `sla` (`level`, `due_at`)."""
    access.require(user, "read")
    filters = inbox.InboxFilter(
        view=view,
        sort=sort,
        platform=platform,
        brand_id=brand_id,
        channel_id=channel_id,
        status=status,
        language=language,
        intent=intent,
        sentiment=sentiment,
        priority=priority,
        has_pii=has_pii,
        flagged=flagged,
        team_id=team_id,
        assignee_id=user.id if mine else assignee_id,
        unassigned=unassigned,
    )
    try:
        # `q` (search syntax, docs/search.md) or `saved_search_id`: only conversations with a match.
        within = inbox_scope(session, user, q=q, saved_search_id=saved_search_id)
        page = inbox.list_conversations(
            session, user, filters=filters, cursor=cursor, limit=limit, within=within
        )
    except ValueError as error:
        raise HTTPException(400, str(error)) from error
    return JSONResponse({"items": [row.as_json() for row in page.rows], "next_cursor": page.next_cursor})


@router.get("/conversations/{conversation_id}", summary="Read one conversation with its whole thread")
def read_conversation(conversation_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return inbox.read_conversation(session, user, conversation_id).as_json()


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    idempotency_key: str | None = Field(default=None, max_length=200)


@router.post(
    "/conversations/{conversation_id}/replies", status_code=202, summary="Reply (queued for delivery)"
)
def post_reply(conversation_id: int, body: ReplyIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """Queue a reply on the conversation's channel. The answer is `202 Accepted`: read the conversation
    to follow `delivery.state` (queued → sent, or failed with a reason)."""
    access.require(user, "reply")
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        message = do_reply(
            session,
            user=user,
            conversation=conversation,
            text=body.text,
            idempotency_key=body.idempotency_key,
        )
        return {
            "id": message.id,
            "conversation_id": conversation.id,
            "delivery": {"state": message.delivery_state},
        }


@router.post("/messages/{message_id}/retry", status_code=202, summary="Send a failed reply again")
def retry_reply(message_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        message = access.access_message(session, user, message_id)
        do_retry_reply(session, user=user, message=message)
        return {"id": message.id, "delivery": {"state": message.delivery_state}}


@router.post(
    "/messages/{message_id}/moderation",
    status_code=202,
    summary="Hide, unhide (undo) or delete a customer's public message on its platform",
)
def moderate_message(
    message_id: int, body: ModerationIn, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    """Queues the platform call; the message's `moderation.state` goes `hide_pending` → `hidden`
    (or `hide_failed` with the platform's reason). The reason is shown to colleagues and audited."""
    access.require(user, "moderate")
    with database.session() as session:
        message = access.access_message(session, user, message_id)
        do_moderate_message(session, user=user, message=message, action=body.action, reason=body.reason)
        return {"id": message.id, "moderation": {"state": message.moderation_state}}


@router.post("/messages/{message_id}/clear-flag", summary="Mark a flagged message as looked at and fine")
def clear_flag(message_id: int, body: ClearFlagIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "moderate")
    with database.session() as session:
        message = access.access_message(session, user, message_id)
        do_clear_flag(session, user=user, message=message, reason=body.reason)
        return {"id": message.id, "moderation": {"state": message.moderation_state}}


class AuthorIn(BaseModel):
    id: str = Field(min_length=1, max_length=320)
    handle: str = ""
    name: str = ""


class InboundIn(BaseModel):
    account: str = Field(min_length=1, description="The generic API channel's account.")
    external_id: str | None = Field(default=None, max_length=320, description="Your id; repeats are ignored.")
    author: AuthorIn
    text: str = Field(max_length=100000)
    thread_id: str | None = None
    in_reply_to: str | None = None
    created_at: datetime | None = None
    kind: Literal["post", "comment", "dm", "email", "chat"] = "chat"


@router.post("/inbound", summary="Post a customer message on a generic API channel")
def post_inbound(
    request: Request, body: InboundIn, user: ApiUser, database: DatabaseDep, response: Response
) -> dict[str, Any]:
    """Store a customer's message as if a platform had delivered it: `201` when stored, `200` when
    this `external_id` was stored before (nothing changes)."""
    access.require(user, "ingest")
    created_at = body.created_at or utcnow()
    if created_at.tzinfo is None:
        raise HTTPException(422, "created_at needs a time zone (e.g. 2026-01-01T12:00:00+00:00)")
    external_id = body.external_id or f"api-{uuid.uuid4().hex}"
    with database.session() as session:
        channel = access.access_channel(
            session, user, platform="api", account_key=normalize_account("api", body.account)
        )
        session.add(
            RawEvent(
                source="api",
                dedupe_key=None,
                channel_id=channel.id,
                headers={"content-type": request.headers.get("content-type", "")},
                body=seal_raw(json.dumps(body.model_dump(mode="json")).encode()),
                status="stored",
            )
        )
        result = do_ingest_messages(
            session,
            messages=[
                InboundMessage(
                    platform="api",
                    account=channel.account,
                    external_id=external_id,
                    direction="in",
                    kind=body.kind,
                    text=body.text,
                    created_at=created_at.astimezone(UTC),
                    author=Author(id=body.author.id, handle=body.author.handle, name=body.author.name),
                    in_reply_to=body.in_reply_to,
                    thread_id=body.thread_id,
                )
            ],
            actor=f"api:{user.email}",
        )
        message = session.scalar(
            select(Message).where(Message.channel_id == channel.id, Message.external_id == external_id)
        )
        assert message is not None
        response.status_code = 201 if result.stored else 200
        return {
            "id": message.id,
            "external_id": external_id,
            "conversation_id": message.conversation_id,
            "duplicate": not result.stored,
        }


@router.get("/jobs", summary="Jobs in the queue (dead ones by default)")
def list_jobs(
    user: ApiUser,
    session: ReadSession,
    status: Literal["queued", "running", "done", "dead"] = "dead",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    access.require(user, "jobs")
    rows = session.scalars(select(Job).where(Job.status == status).order_by(Job.id.desc()).limit(limit))
    return [
        {
            "id": job.id,
            "queue": job.queue,
            "kind": job.kind,
            "status": job.status,
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "run_at": job.run_at.isoformat(),
            "last_error": job.last_error,
            "payload": job.payload,
        }
        for job in rows
    ]


@router.post("/jobs/{job_id}/retry", status_code=202, summary="Run a dead job again")
def retry_job(job_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "jobs")
    with database.session() as session:
        if not do_retry_job(session, job_id=job_id, actor_user=user):
            raise HTTPException(404, f"no dead job {job_id}")
    return {"id": job_id, "status": "queued"}


@router.get("/reports/kpis", summary="KPI report (KPIS.md) for a period")
def kpi_report(
    user: ApiUser,
    session: ReadSession,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
    brand_id: int | None = None,
) -> dict[str, Any]:
    access.require(user, "report")
    allowed = access.brand_ids(session, user)
    if brand_id is not None:
        if brand_id not in allowed:
            raise HTTPException(404, f"brand {brand_id}")
        allowed = [brand_id]
    try:
        period = Period.from_dates(date_from, date_to)
    except ValueError as error:  # e.g. the period ends before it starts
        raise HTTPException(400, str(error)) from error
    return compute_report(session, period=period, brand_ids=allowed).as_json()
