"""``/api/v1/privacy``: data-subject requests (export, erase), the record of erasures and retention
runs, retention policies and legal holds, and need-to-know reveal of masked personal data
(docs/privacy.md). Thin: parse, authorize via ``access``, call one action or query."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from tilsvar import access
from tilsvar.actions.common import ActionError
from tilsvar.actions.privacy import do_export_subject, erase_subject
from tilsvar.actions.reveal import (
    access_reveal_request,
    do_decide_reveal,
    do_request_reveal,
    do_reveal,
    pending_requests,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models.privacy import PrivacyDeletion, RevealRequest
from tilsvar.privacy.export import render_html

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])


@router.get("/export", summary="Everything held about one person (data-subject access request)")
def export_subject(
    user: ApiUser,
    database: DatabaseDep,
    platform: Annotated[str, Query(max_length=32)],
    author_id: Annotated[str, Query(max_length=320)],
    format: Literal["json", "html"] = "json",
) -> Response:
    """Their identities, contact, every message they wrote with the conversations and the brand's
    replies, attachment metadata, moderation decisions and survey answers, unmasked (it is for
    them). Audited as `privacy.export`."""
    access.require(user, "privacy")
    with database.session() as session:
        document = do_export_subject(session, platform=platform, author_id=author_id, actor_user=user)
    if format == "html":
        return HTMLResponse(
            render_html(document),
            headers={"Content-Disposition": 'attachment; filename="personal-data.html"'},
        )
    return JSONResponse(document)


class EraseIn(BaseModel):
    platform: str = Field(max_length=32)
    author_id: str = Field(max_length=320)
    confirm: str = Field(max_length=320, description="Repeat the author id to confirm.")
    delete_on_platform: bool = False


@router.post("/erase", summary="Erase one person everywhere (data-subject erasure request)")
def erase(body: EraseIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """Their messages, identities and contact, raw payloads, job and event payloads, search index
    entries, attachments and trend/FAQ samples; brand replies to them in shared conversations are
    blanked. Returns counts only. Audited as `privacy.erase` and recorded in `/privacy/deletions`."""
    access.require(user, "privacy")
    if body.confirm != body.author_id:
        raise ActionError("confirm by repeating the author id")
    result = erase_subject(
        database,
        platform=body.platform,
        author_id=body.author_id,
        actor_user=user,
        delete_on_platform=body.delete_on_platform,
    )
    return {"erased": result.counts}


@router.get("/deletions", summary="What was erased or deleted when (counts and ids, never the data)")
def deletions(
    user: ApiUser, session: ReadSession, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    access.require(user, "privacy")
    rows = session.scalars(
        select(PrivacyDeletion)
        .where(PrivacyDeletion.organization_id == user.organization_id)
        .order_by(PrivacyDeletion.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "policy_id": row.policy_id,
            "actor": row.actor,
            "at": row.at.isoformat(),
            "counts": row.counts,
            "ids": row.ids,
        }
        for row in rows
    ]


class RevealIn(BaseModel):
    reason: str = Field(max_length=500, description="Why you need to see the personal data (audited).")


def _request_json(request: RevealRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "conversation_id": request.conversation_id,
        "user_id": request.user_id,
        "reason": request.reason,
        "status": request.status,
        "needed_approval": request.needed_approval,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat() if request.expires_at else None,
    }


@router.post("/conversations/{conversation_id}/reveal", summary="Ask to see a conversation's personal data")
def request_reveal(
    conversation_id: int, body: RevealIn, user: ApiUser, database: DatabaseDep, response: Response
) -> dict[str, Any]:
    """With the `reveal` permission and a reason: `200` with the original texts of its masked
    messages when you have handled this customer before (or hold an approval), otherwise `202` with a
    pending request that a supervisor approves in `/privacy/reveal-requests`. Audited."""
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        request = do_request_reveal(session, user=user, conversation=conversation, reason=body.reason)
        if request.status == "approved":
            return do_reveal(session, user=user, conversation=conversation)
        response.status_code = 202
        return _request_json(request)


@router.get("/conversations/{conversation_id}/reveal", summary="See personal data under an approval")
def reveal(conversation_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """The original texts while your approval lasts (`403` without one). Each call is audited."""
    with database.session() as session:
        conversation = access.access_conversation(session, user, conversation_id)
        return do_reveal(session, user=user, conversation=conversation)


@router.get("/reveal-requests", summary="Reveal requests waiting for a supervisor")
def reveal_requests(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    return [_request_json(request) for request in pending_requests(session, user)]


@router.post("/reveal-requests/{request_id}/{decision}", summary="Approve or deny a reveal request")
def decide_reveal(
    request_id: int, decision: Literal["approve", "deny"], user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    with database.session() as session:
        request = access_reveal_request(session, user, request_id)
        do_decide_reveal(session, user=user, request=request, approve=decision == "approve")
        return _request_json(request)
