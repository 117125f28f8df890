"""Single sign-on: open a web session for the Tilsvar user an OpenID Connect issuer vouched for.

The issuer has authenticated the person (``tilsvar.oidc`` verified its ID token); this matches the
verified e-mail address to an active user — no account is created — and opens the session the same
way a password sign-in does, audited. A user with Tilsvar's own two-factor on still gives the code.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.auth import SignInResult, _open_session
from tilsvar.actions.common import audit
from tilsvar.models import SignInAttempt, User, utcnow


def do_sign_in_sso(
    session: Session, *, email: str, subject: str, issuer: str, ip: str = "", user_agent: str = ""
) -> SignInResult:
    email = email.strip().casefold()[:320]
    now = utcnow()
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active or (user.locked_until is not None and user.locked_until > now):
        audit(
            session,
            action="auth.sso_refused",
            actor=email[:200],
            details={"ip": ip, "issuer": issuer, "subject": subject[:200]},
        )
        return SignInResult(error="no active Tilsvar user has this e-mail address", status=403)
    session.add(
        SignInAttempt(
            at=now, email=email, ip=ip[:64], user_agent=user_agent[:400], user_id=user.id, success=True
        )
    )
    pending = user.totp_enabled_at is not None
    cookie, csrf = _open_session(session, user=user, ip=ip, user_agent=user_agent, pending=pending)
    if not pending:
        user.last_login_at = now
    audit(
        session,
        action="auth.signed_in",
        actor_user=user,
        target_type="user",
        target_id=user.id,
        details={
            "ip": ip,
            "user_agent": user_agent[:200],
            "method": "oidc",
            "issuer": issuer,
            "second_factor": "pending" if pending else "off",
        },
    )
    return SignInResult(user=user, cookie=cookie, csrf=csrf, second_factor_pending=pending)
