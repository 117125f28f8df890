"""``/api/v1`` account security: the caller's API tokens and sign-in sessions, user administration
(roles, brand scope, unlock), the organisation's two-factor requirement, and the audit trail with
its verification. Thin: authorize via ``access``, call one action or query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from tilsvar import access
from tilsvar.actions.auth import (
    do_change_role,
    do_disable_totp,
    do_require_two_factor,
    do_revoke_other_sessions,
    do_revoke_session,
    do_unlock_user,
)
from tilsvar.actions.org import do_create_api_token, do_revoke_api_token
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.audit_chain import AuditFilter, export_line, search_entries, verify
from tilsvar.models import ApiToken, Brand, Organization, User, UserBrand, WebSession, utcnow
from tilsvar.passwords import token_hash

router = APIRouter(prefix="/api/v1", tags=["security"])

Scope = Literal["read", "reply", "moderate", "ingest", "report", "admin"]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


class TokenOut(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself; shown this once, only its hash is kept.")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1, max_length=6)


def _token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": list(token.scopes or []),
        "created_at": _iso(token.created_at) or "",
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


@router.get("/tokens", response_model=list[TokenOut], summary="API tokens: yours (or everyone's, for admins)")
def list_tokens(
    user: ApiUser, session: ReadSession, everyone: bool = False, include_revoked: bool = False
) -> list[dict[str, Any]]:
    access.require(user, "account")
    query = select(ApiToken).join(User, User.id == ApiToken.user_id)
    if everyone:
        access.require(user, "users")
        query = query.where(User.organization_id == user.organization_id)
    else:
        query = query.where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [_token_out(token) for token in session.scalars(query.order_by(ApiToken.id))]


@router.post(
    "/tokens", status_code=201, response_model=TokenCreated, summary="Create an API token for yourself"
)
def create_token(body: TokenIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """The token can do at most what your role allows, narrowed to `scopes`."""
    access.require(user, "account")
    with database.session() as session:
        owner = session.get(User, user.id)
        assert owner is not None
        secret = do_create_api_token(
            session, user=owner, name=body.name, scopes=list(body.scopes), actor_user=owner
        )
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
        assert token is not None
        return {**_token_out(token), "token": secret}


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    with database.session() as session:
        token = access.access_api_token(session, user, token_id)
        do_revoke_api_token(session, token=token, actor_user=user)
    return Response(status_code=204)


class SessionOut(BaseModel):
    id: int
    created_at: str
    last_seen_at: str | None
    expires_at: str
    ip: str
    user_agent: str
    second_factor_pending: bool


@router.get("/me/sessions", response_model=list[SessionOut], summary="Your web sign-ins")
def list_sessions(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "account")
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > utcnow())
        .order_by(WebSession.id.desc())
    )
    return [
        {
            "id": row.id,
            "created_at": _iso(row.created_at),
            "last_seen_at": _iso(row.last_seen_at),
            "expires_at": _iso(row.expires_at),
            "ip": row.ip,
            "user_agent": row.user_agent,
            "second_factor_pending": row.second_factor_pending,
        }
        for row in rows
    ]


@router.delete("/me/sessions/{session_id}", status_code=204, summary="Sign out one of your web sign-ins")
def revoke_session(session_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    access.require(user, "account")
    with database.session() as session:
        do_revoke_session(session, user=user, session_id=session_id)
    return Response(status_code=204)


@router.delete("/me/sessions", summary="Sign out every web sign-in of yours")
def revoke_all_sessions(user: ApiUser, database: DatabaseDep) -> dict[str, int]:
    access.require(user, "account")
    with database.session() as session:
        return {"revoked": do_revoke_other_sessions(session, user=user)}


class UserAdminOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    active: bool
    all_brands: bool
    brand_ids: list[int]
    two_factor: bool
    locked_until: str | None
    last_login_at: str | None


def _user_out(session: Any, user: User) -> dict[str, Any]:
    locked = user.locked_until if user.locked_until and user.locked_until > utcnow() else None
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.is_active,
        "all_brands": user.all_brands,
        "brand_ids": sorted(session.scalars(select(UserBrand.brand_id).where(UserBrand.user_id == user.id))),
        "two_factor": user.totp_enabled_at is not None,
        "locked_until": _iso(locked),
        "last_login_at": _iso(user.last_login_at),
    }


@router.get("/users", response_model=list[UserAdminOut], summary="Users of your organisation (admins)")
def list_users(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "users")
    rows = session.scalars(
        select(User).where(User.organization_id == user.organization_id).order_by(User.email)
    )
    return [_user_out(session, row) for row in rows]


class UserChange(BaseModel):
    role: Literal["admin", "supervisor", "agent", "press", "marketing", "analyst", "readonly"] | None = None
    brand_ids: list[int] | None = Field(default=None, max_length=1000, description="Limit to these brands.")
    all_brands: bool | None = Field(default=None, description="`true`: every brand of the organisation.")
    active: bool | None = None


@router.patch(
    "/users/{user_id}", response_model=UserAdminOut, summary="Change a user's role, brands or status"
)
def change_user(user_id: int, body: UserChange, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        target = access.access_user(session, user, user_id)
        brands: list[Brand] | None = None
        if body.brand_ids is not None:
            brands = list(
                session.scalars(
                    select(Brand).where(
                        Brand.id.in_(body.brand_ids), Brand.organization_id == user.organization_id
                    )
                )
            )
            if len(brands) != len(set(body.brand_ids)):
                raise HTTPException(404, "a brand that does not exist or is not yours")
        do_change_role(
            session,
            user=target,
            actor_user=user,
            role=body.role,
            brands=brands,
            all_brands=body.all_brands,
            active=body.active,
        )
        return _user_out(session, target)


@router.post("/users/{user_id}/unlock", response_model=UserAdminOut, summary="Lift a sign-in lockout now")
def unlock_user(user_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        target = access.access_user(session, user, user_id)
        do_unlock_user(session, user=target, actor_user=user)
        return _user_out(session, target)


@router.delete(
    "/users/{user_id}/two-factor",
    response_model=UserAdminOut,
    summary="Reset a user's two-factor (lost device)",
)
def reset_two_factor(user_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        target = access.access_user(session, user, user_id)
        do_disable_totp(session, user=target, password="", actor_user=user)
        return _user_out(session, target)


class OrganizationSecurity(BaseModel):
    require_two_factor: bool


@router.put(
    "/organization/security", response_model=OrganizationSecurity, summary="Require two-factor sign-in"
)
def set_organization_security(
    body: OrganizationSecurity, user: ApiUser, database: DatabaseDep
) -> dict[str, bool]:
    access.require(user, "users")
    with database.session() as session:
        organization = session.get(Organization, user.organization_id)
        assert organization is not None
        do_require_two_factor(
            session, organization=organization, required=body.require_two_factor, actor_user=user
        )
        return {"require_two_factor": organization.require_two_factor}


class AuditEntryOut(BaseModel):
    id: int
    at: str
    organization_id: int | None
    actor_user_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    prev_hash: str
    row_hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before_id: int | None


@router.get("/audit", response_model=AuditPage, summary="The audit trail (admins, supervisors), newest first")
def audit_trail(
    user: ApiUser,
    session: ReadSession,
    action: Annotated[str, Query(max_length=64, description="Action prefix, e.g. `auth.`")] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    target_type: Annotated[str, Query(max_length=64)] = "",
    target_id: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    access.require(user, "audit")
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, "since and until need a time zone")
    rows = search_entries(
        session,
        organization_id=user.organization_id,
        filters=AuditFilter(
            action=action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            text=q,
            since=since,
            until=until,
        ),
        before_id=before_id,
        limit=limit,
    )
    return {
        "items": [export_line(row) for row in rows],
        "next_before_id": rows[-1].id if len(rows) == limit else None,
    }


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    head_id: int | None
    head_hash: str
    broken_id: int | None
    problem: str


@router.get("/audit/verify", response_model=AuditVerification, summary="Check the audit trail's hash chain")
def audit_verify(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "audit")
    result = verify(session)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "head_id": result.head_id,
        "head_hash": result.head_hash,
        "broken_id": result.broken_id,
        "problem": result.problem,
    }
