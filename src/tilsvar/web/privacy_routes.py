"""Web pages for privacy: reveal a conversation's masked personal data (with a reason, and a
supervisor's approval for new hands), and the privacy admin page — data-subject export and erasure,
reveal approvals, retention policies with their preview, legal holds and the deletion record.
Thin: authorize through ``access``, call one action, render (customer text is always escaped)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from tilsvar import access
from tilsvar.actions.common import ActionError
from tilsvar.actions.privacy import do_export_subject, erase_subject
from tilsvar.actions.retention import (
    access_policy,
    do_create_policy,
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
from tilsvar.api.deps import DatabaseDep
from tilsvar.models.privacy import LegalHold, PrivacyDeletion, RetentionPolicy
from tilsvar.privacy.export import render_html
from tilsvar.web import i18n
from tilsvar.web.i18n import N_
from tilsvar.web.routes import not_found, render, request_language
from tilsvar.web.session import CsrfUser, WebContext, WebUser

router = APIRouter(include_in_schema=False)


def _refused(request: Request, context: Any, message: str) -> Response:
    return render(request, "error.html", context, status_code=403, title=N_("Not allowed"), message=message)


@router.post("/conversations/{conversation_id}/reveal")
def reveal(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not access.can(context.user, "reveal"):
        return _refused(request, context, N_("Your role may not reveal personal data."))
    try:
        with database.session() as session:
            conversation = access.access_conversation(session, context.user, conversation_id)
            grant = do_request_reveal(session, user=context.user, conversation=conversation, reason=reason)
            revealed = (
                do_reveal(session, user=context.user, conversation=conversation)
                if grant.status == "approved"
                else None
            )
            status = grant.status
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return render(
        request,
        "privacy_reveal.html",
        context,
        conversation_id=conversation_id,
        status=status,
        revealed=revealed,
    )


def _admin_values(database: DatabaseDep, context: Any) -> dict[str, Any]:
    user = context.user
    with database.reader() as session:
        policies = list(
            session.scalars(
                select(RetentionPolicy)
                .where(RetentionPolicy.organization_id == user.organization_id)
                .order_by(RetentionPolicy.id)
            )
        )
        previews = {policy.id: preview(session, policy) for policy in policies}
        holds = list(
            session.scalars(
                select(LegalHold)
                .where(LegalHold.organization_id == user.organization_id, LegalHold.released_at.is_(None))
                .order_by(LegalHold.id)
            )
        )
        deletions = list(
            session.scalars(
                select(PrivacyDeletion)
                .where(PrivacyDeletion.organization_id == user.organization_id)
                .order_by(PrivacyDeletion.id.desc())
                .limit(50)
            )
        )
        requests = pending_requests(session, user)
    return {
        "policies": policies,
        "previews": previews,
        "holds": holds,
        "deletions": deletions,
        "requests": requests,
    }


@router.get("/admin/privacy")
def privacy_page(request: Request, database: DatabaseDep, context: WebUser, done: str = "") -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors handle privacy requests."))
    done = _confirmation(request, context, done)
    return render(request, "admin_privacy.html", context, done=done, **_admin_values(database, context))


@router.get("/admin/privacy/export")
def export(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    platform: str = "",
    author_id: str = "",
    format: str = "html",
) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors handle privacy requests."))
    with database.session() as session:
        document = do_export_subject(
            session, platform=platform[:32], author_id=author_id[:320], actor_user=context.user
        )
    if format == "json":
        return Response(
            json.dumps(document, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="personal-data.json"'},
        )
    return Response(
        render_html(document),
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="personal-data.html"'},
    )


def _back(message: str, **values: int | str) -> Response:
    """Back to the privacy page, which confirms ``message`` (marked with ``N_``; its ``%(name)s``
    values travel beside it) in the reader's language."""
    query = urlencode({"done": message, **{f"v_{key}": value for key, value in values.items()}})
    return RedirectResponse(f"/admin/privacy?{query}", status_code=303)


def _confirmation(request: Request, context: WebContext, done: str) -> str:
    """The ``done`` message of a redirect in the page's language, with its values filled in."""
    if not done:
        return ""
    values = {key[2:]: value[:200] for key, value in request.query_params.items() if key.startswith("v_")}
    text = i18n.gettext_for(request_language(request, context))(done[:200])
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):
        return done[:200]


@router.post("/admin/privacy/erase")
def erase(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    platform: Annotated[str, Form(max_length=32)] = "",
    author_id: Annotated[str, Form(max_length=320)] = "",
    confirm: Annotated[str, Form(max_length=320)] = "",
    delete_on_platform: Annotated[str, Form()] = "",
) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors handle privacy requests."))
    if not author_id or confirm != author_id:
        raise HTTPException(400, "confirm by typing the author id again")
    try:
        result = erase_subject(
            database,
            platform=platform,
            author_id=author_id,
            actor_user=context.user,
            delete_on_platform=bool(delete_on_platform),
        )
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return _back(
        N_("Erased: %(messages)s messages, %(contacts)s contacts."),
        messages=result.counts.get("messages", 0),
        contacts=result.counts.get("contacts", 0),
    )


@router.post("/admin/privacy/reveal-requests/{request_id}/{decision}")
def decide(
    request: Request, database: DatabaseDep, context: CsrfUser, request_id: int, decision: str
) -> Response:
    if decision not in ("approve", "deny"):
        raise HTTPException(400, "approve or deny")
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors approve reveals."))
    try:
        with database.session() as session:
            found = access_reveal_request(session, context.user, request_id)
            do_decide_reveal(session, user=context.user, request=found, approve=decision == "approve")
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    if decision == "approve":
        return _back(N_("Request %(id)s: approved."), id=request_id)
    return _back(N_("Request %(id)s: denied."), id=request_id)


@router.post("/admin/privacy/policies")
def create_policy(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    target: Annotated[str, Form()] = "conversations",
    action: Annotated[str, Form()] = "delete",
    days: Annotated[int, Form(ge=1, le=36500)] = 365,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors set retention."))
    try:
        with database.session() as session:
            do_create_policy(
                session,
                user=context.user,
                fields={"target": target, "action": action, "days": days, "name": name},
            )
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return _back(N_("Policy added."))


@router.post("/admin/privacy/policies/{policy_id}/run")
def run_policy(request: Request, database: DatabaseDep, context: CsrfUser, policy_id: int) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors set retention."))
    try:
        with database.session() as session:
            record = do_run_policy(
                session, policy=access_policy(session, context.user, policy_id), actor_user=context.user
            )
            counts = record.counts
    except access.NotFound:
        return not_found(request, context)
    return _back(N_("Policy %(id)s ran: %(counts)s."), id=policy_id, counts=str(counts))


@router.post("/admin/privacy/holds")
def create_hold(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: Annotated[int, Form()] = 0,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors set legal holds."))
    try:
        with database.session() as session:
            do_set_legal_hold(session, user=context.user, conversation_id=conversation_id, reason=reason)
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return _back(N_("Conversation %(id)s is on legal hold."), id=conversation_id)


@router.post("/admin/privacy/holds/{hold_id}/release")
def release_hold(request: Request, database: DatabaseDep, context: CsrfUser, hold_id: int) -> Response:
    if not access.can(context.user, "privacy"):
        return _refused(request, context, N_("Only administrators and supervisors set legal holds."))
    try:
        with database.session() as session:
            do_release_legal_hold(session, user=context.user, hold_id=hold_id)
    except access.NotFound:
        return not_found(request, context)
    return _back(N_("Hold %(id)s released."), id=hold_id)
