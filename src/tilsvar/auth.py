"""Who is calling: resolve an API bearer token or a web-session cookie to a user (reads only; the
writes — sign-in, sign-out, noting a token's last use — are actions)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.models import ApiToken, User, WebSession, utcnow
from tilsvar.passwords import token_hash

SESSION_COOKIE = "tilsvar_session"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


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


def token_use_due(token: ApiToken) -> bool:
    """Whether a token's last use should be recorded now (at most every few minutes, to spare the
    database a write on every request)."""
    return token.last_used_at is None or utcnow() - token.last_used_at > TOKEN_TOUCH_INTERVAL


def do_note_token_used(session: Session, *, token: ApiToken) -> None:
    """Record when a token was last used, if that is due."""
    if token_use_due(token):
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=utcnow()))
