"""Who is calling: resolve an API bearer token or a web-session cookie to a user (reads only; the
writes — sign-in, sign-out, noting a token's last use — are actions)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.models import ApiToken, Organization, User, WebSession, utcnow
from tilsvar.passwords import token_hash

SESSION_COOKIE = "tilsvar_session"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


def user_for_token(session: Session, token: str) -> tuple[User, ApiToken] | None:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def user_for_session(session: Session, cookie: str) -> tuple[User, WebSession] | None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(cookie)))
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def session_touch_due(web_session: WebSession) -> bool:
    """Whether a session's last-seen time should be written now (at most every few minutes)."""
    return web_session.last_seen_at is None or utcnow() - web_session.last_seen_at > SESSION_TOUCH_INTERVAL


def do_note_session_seen(session: Session, *, web_session: WebSession) -> None:
    session.execute(update(WebSession).where(WebSession.id == web_session.id).values(last_seen_at=utcnow()))


def two_factor_required(session: Session, user: User) -> bool:
    """Whether the user's organisation requires two-factor sign-in and the user has not set it up."""
    if user.totp_enabled_at is not None:
        return False
    return bool(
        session.scalar(select(Organization.require_two_factor).where(Organization.id == user.organization_id))
    )


def token_use_due(token: ApiToken) -> bool:
    """Whether a token's last use should be recorded now (at most every few minutes, to spare the
    database a write on every request)."""
    return token.last_used_at is None or utcnow() - token.last_used_at > TOKEN_TOUCH_INTERVAL


def do_note_token_used(session: Session, *, token: ApiToken) -> None:
    """Record when a token was last used, if that is due."""
    if token_use_due(token):
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=utcnow()))
