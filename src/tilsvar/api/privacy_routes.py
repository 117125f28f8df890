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
from tilsvar.actions.retention import (
    access_policy,
    do_create_policy,
    do_delete_policy,
    do_release_legal_hold,
    do_run_policy,
    do_set_legal_hold,
    preview,
)
from tilsvar.actions.reveal import (
    access_reveal_request,
    do_decide_reveal,
    do_request_reveal,
    do_reveal,
    pending_requests,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models.privacy import LegalHold, PrivacyDeletion, RetentionPolicy, RevealRequest
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


class PolicyIn(BaseModel):
    name: str = Field(default="", max_length=200)
    target: Literal["conversations", "contacts"]
    action: Literal["delete", "anonymise"] = "delete"
    days: int = Field(
        ge=1, le=36500, description="After resolution (conversations) or of inactivity (contacts)."
    )
    brand_id: int | None = None
    channel_id: int | None = None
    conversation_kind: Literal["post", "comment", "dm", "email", "chat"] | None = None
    enabled: bool = True


def _policy_json(policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "target": policy.target,
        "action": policy.action,
        "days": policy.days,
        "brand_id": policy.brand_id,
        "channel_id": policy.channel_id,
        "conversation_kind": policy.conversation_kind,
        "enabled": policy.enabled,
        "last_run_at": policy.last_run_at.isoformat() if policy.last_run_at else None,
    }


@router.get("/retention/policies", summary="Retention policies")
def list_policies(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "privacy")
    rows = session.scalars(
        select(RetentionPolicy)
        .where(RetentionPolicy.organization_id == user.organization_id)
        .order_by(RetentionPolicy.id)
    )
    return [_policy_json(policy) for policy in rows]


@router.post("/retention/policies", status_code=201, summary="Add a retention policy")
def create_policy(body: PolicyIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        return _policy_json(do_create_policy(session, user=user, fields=body.model_dump()))


@router.delete("/retention/policies/{policy_id}", status_code=204, summary="Remove a retention policy")
def delete_policy(policy_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    with database.session() as session:
        do_delete_policy(session, user=user, policy=access_policy(session, user, policy_id))
    return Response(status_code=204)


@router.get("/retention/policies/{policy_id}/preview", summary="What a policy would delete now")
def preview_policy(policy_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    """How many conversations or contacts the policy would delete or anonymise now, and up to 20 ids."""
    policy = access_policy(session, user, policy_id)
    result = preview(session, policy)
    return {
        "policy_id": policy.id,
        "target": policy.target,
        "count": result.count,
        "sample_ids": result.sample_ids,
    }


@router.post("/retention/policies/{policy_id}/run", summary="Apply a policy now")
def run_policy(policy_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        policy = access_policy(session, user, policy_id)
        record = do_run_policy(session, policy=policy, actor_user=user)
        return {"policy_id": policy.id, "record_id": record.id, "counts": record.counts}


class HoldIn(BaseModel):
    conversation_id: int | None = None
    contact_id: int | None = None
    reason: str = Field(default="", max_length=500)


def _hold_json(hold: LegalHold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "conversation_id": hold.conversation_id,
        "contact_id": hold.contact_id,
        "reason": hold.reason,
        "created_at": hold.created_at.isoformat(),
    }


@router.get("/legal-holds", summary="Active legal holds")
def list_holds(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "privacy")
    rows = session.scalars(
        select(LegalHold)
        .where(LegalHold.organization_id == user.organization_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.id)
    )
    return [_hold_json(hold) for hold in rows]


@router.post("/legal-holds", status_code=201, summary="Put a conversation or contact on legal hold")
def create_hold(body: HoldIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        hold = do_set_legal_hold(
            session,
            user=user,
            conversation_id=body.conversation_id,
            contact_id=body.contact_id,
            reason=body.reason,
        )
        return _hold_json(hold)


@router.delete("/legal-holds/{hold_id}", status_code=204, summary="Release a legal hold")
def release_hold(hold_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    with database.session() as session:
        do_release_legal_hold(session, user=user, hold_id=hold_id)
    return Response(status_code=204)
