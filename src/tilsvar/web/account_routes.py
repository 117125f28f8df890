"""Web pages for account safety: the second sign-in step (TOTP or recovery code), the account page
(sign-ins with revoke and revoke-all, API tokens with scopes, two-factor set-up) and the audit trail
for administrators and supervisors. Thin: authorize via ``access``, call one action, render."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from tilsvar import access
from tilsvar.actions.auth import (
    do_complete_second_factor,
    do_confirm_totp,
    do_disable_totp,
    do_revoke_other_sessions,
    do_revoke_session,
    do_start_totp,
)
from tilsvar.actions.common import ActionError
from tilsvar.actions.org import (
    do_create_api_token,
    do_revoke_api_token,
    do_set_organization_language,
    do_set_user_language,
)
from tilsvar.api.deps import DatabaseDep
from tilsvar.audit_chain import AuditFilter, search_entries, verify
from tilsvar.models import ApiToken, Organization, SignInAttempt, User, WebSession, utcnow
from tilsvar.web.i18n import N_
from tilsvar.web.routes import render
from tilsvar.web.session import CsrfUser, WebContext, WebUser, safe_next, set_session_cookie

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 100


@router.get("/login/two-factor")
def second_factor_page(request: Request, context: WebUser, next: str | None = None) -> Response:
    if not context.second_factor_pending:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login_two_factor.html", context, next=safe_next(next), error="")


@router.post("/login/two-factor")
def second_factor(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    code: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    if not context.second_factor_pending:
        return RedirectResponse(safe_next(next), status_code=303)
    with database.session() as session:
        web_session = session.get(WebSession, context.session_id)
        user = session.get(User, context.user.id)
        if web_session is None or user is None:
            raise HTTPException(401, "sign in first")
        result = do_complete_second_factor(session, web_session=web_session, user=user, code=code)
    if not result.ok:
        if result.status == 429:  # locked: the pending sign-in is gone
            return render(
                request,
                "login.html",
                None,
                status_code=429,
                next=safe_next(next),
                error=result.error,
                email="",
            )
        return render(
            request,
            "login_two_factor.html",
            context,
            status_code=result.status,
            next=safe_next(next),
            error=result.error,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request.app.state.settings, result.cookie)
    return response


def _account_values(database: Any, context: WebContext) -> dict[str, Any]:
    with database.reader() as session:
        sessions = list(
            session.scalars(
                select(WebSession)
                .where(WebSession.user_id == context.user.id, WebSession.expires_at > utcnow())
                .order_by(WebSession.id.desc())
            )
        )
        tokens = list(
            session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == context.user.id, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.id)
            )
        )
        attempts = list(
            session.scalars(
                select(SignInAttempt)
                .where(SignInAttempt.email == context.user.email)
                .order_by(SignInAttempt.id.desc())
                .limit(10)
            )
        )
        user = session.get(User, context.user.id)
        organization = session.get(Organization, context.user.organization_id)
    return {
        "language": user.locale if user else "",
        "organization_language": organization.locale if organization else "",
        "can_set_organization_language": access.can(context.user, "users"),
        "sessions": sessions,
        "tokens": tokens,
        "attempts": attempts,
        "current_session_id": context.session_id,
        "now_example": utcnow(),
        "two_factor": bool(user and user.totp_enabled_at),
        "scopes": list(access.SCOPES),
        "new_token": "",
        "error": "",
    }


@router.get("/account")
def account_page(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    access.require(context.user, "account")
    return render(request, "account.html", context, **_account_values(database, context))


@router.post("/account/language")
def set_language(
    database: DatabaseDep,
    context: CsrfUser,
    language: Annotated[str, Form(max_length=16)] = "",
    organization_language: Annotated[str | None, Form(max_length=16)] = None,
) -> RedirectResponse:
    """The user's own UI language ("" = the organisation's default); administrators may also set the
    organisation's default."""
    access.require(context.user, "account")
    try:
        with database.session() as session:
            user = session.get(User, context.user.id)
            assert user is not None
            do_set_user_language(session, user=user, language=language, actor_user=user)
            if organization_language is not None:
                access.require(context.user, "users")
                organization = session.get(Organization, user.organization_id)
                assert organization is not None
                do_set_organization_language(
                    session, organization=organization, language=organization_language, actor_user=user
                )
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(database: DatabaseDep, context: CsrfUser, session_id: int) -> RedirectResponse:
    access.require(context.user, "account")
    try:
        with database.session() as session:
            do_revoke_session(session, user=context.user, session_id=session_id)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(database: DatabaseDep, context: CsrfUser) -> RedirectResponse:
    access.require(context.user, "account")
    with database.session() as session:
        do_revoke_other_sessions(session, user=context.user, keep_session_id=context.session_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/tokens")
async def create_token(request: Request, database: DatabaseDep, context: CsrfUser) -> HTMLResponse:
    access.require(context.user, "account")
    form = await request.form()
    name = str(form.get("name") or "")[:200]
    scopes = [str(value) for value in form.getlist("scopes")]
    values = _account_values(database, context)
    try:
        with database.session() as session:
            owner = session.get(User, context.user.id)
            assert owner is not None
            token = do_create_api_token(session, user=owner, name=name, scopes=scopes, actor_user=owner)
    except ActionError as error:
        values["error"] = error.reason
        return render(request, "account.html", context, status_code=422, **values)
    values = _account_values(database, context)
    values["new_token"] = token
    return render(request, "account.html", context, **values)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(database: DatabaseDep, context: CsrfUser, token_id: int) -> RedirectResponse:
    with database.session() as session:
        token = access.access_api_token(session, context.user, token_id)
        do_revoke_api_token(session, token=token, actor_user=context.user)
    return RedirectResponse("/account", status_code=303)


def _two_factor_values(database: Any, context: WebContext) -> dict[str, Any]:
    with database.reader() as session:
        user = session.get(User, context.user.id)
        assert user is not None
        return {
            "enabled": user.totp_enabled_at is not None,
            "codes_left": len(user.recovery_code_hashes or []),
            "secret": "",
            "uri": "",
            "recovery_codes": [],
            "error": "",
        }


@router.get("/account/two-factor")
def two_factor_page(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    return render(request, "account_two_factor.html", context, **_two_factor_values(database, context))


@router.post("/account/two-factor/start")
def two_factor_start(request: Request, database: DatabaseDep, context: CsrfUser) -> HTMLResponse:
    values = _two_factor_values(database, context)
    try:
        with database.session() as session:
            user = session.get(User, context.user.id)
            assert user is not None
            values["secret"], values["uri"] = do_start_totp(session, user=user)
    except ActionError as error:
        values["error"] = error.reason
        return render(request, "account_two_factor.html", context, status_code=error.status, **values)
    return render(request, "account_two_factor.html", context, **values)


@router.post("/account/two-factor/confirm")
def two_factor_confirm(
    request: Request, database: DatabaseDep, context: CsrfUser, code: Annotated[str, Form(max_length=64)]
) -> HTMLResponse:
    values = _two_factor_values(database, context)
    try:
        with database.session() as session:
            user = session.get(User, context.user.id)
            assert user is not None
            codes = do_confirm_totp(session, user=user, code=code)
    except ActionError as error:
        values["error"] = error.reason
        return render(request, "account_two_factor.html", context, status_code=422, **values)
    values = _two_factor_values(database, context)
    values["recovery_codes"] = codes
    return render(request, "account_two_factor.html", context, **values)


@router.post("/account/two-factor/disable")
def two_factor_disable(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        with database.session() as session:
            user = session.get(User, context.user.id)
            assert user is not None
            do_disable_totp(session, user=user, password=password)
    except ActionError as error:
        values = _two_factor_values(database, context)
        values["error"] = error.reason
        return render(request, "account_two_factor.html", context, status_code=error.status, **values)
    return RedirectResponse("/account/two-factor", status_code=303)


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC) if value else None
    except ValueError:
        return None


@router.get("/admin/audit")
def audit_page(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    action: str = "",
    actor: str = "",
    q: str = "",
    since: str = "",
    until: str = "",
    before_id: str = "",
    check: str = "",
) -> HTMLResponse:
    if not access.can(context.user, "audit"):
        return render(
            request,
            "error.html",
            context,
            status_code=403,
            title=N_("Not allowed"),
            message=N_("Only administrators and supervisors see the audit trail."),
        )
    until_day = _day(until)
    filters = AuditFilter(
        action=action[:64],
        actor=actor[:200],
        text=q[:200],
        since=_day(since),
        until=until_day + timedelta(days=1) if until_day else None,
    )
    with database.reader() as session:
        rows = search_entries(
            session,
            organization_id=context.user.organization_id,
            filters=filters,
            before_id=int(before_id) if before_id.isdigit() else None,
            limit=AUDIT_PAGE,
        )
        verification = verify(session) if check else None
    query = {"action": action, "actor": actor, "q": q, "since": since, "until": until}
    next_url = ""
    if len(rows) == AUDIT_PAGE:
        next_url = "/admin/audit?" + urlencode({**query, "before_id": rows[-1].id})
    return render(
        request,
        "admin_audit.html",
        context,
        rows=rows,
        query=query,
        next_url=next_url,
        verification=verification,
    )
