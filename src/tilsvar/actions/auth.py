"""Account safety writes: password sign-in with throttling and lockout, the TOTP second factor and
its recovery codes, the session list (revoke one, revoke all others), admin unlock, role changes and
the organisation's two-factor requirement. Every outcome, refused ones included, is audited; the
caller commits refused sign-ins too (they are results, not exceptions), so failures are recorded."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.org import secret_box
from tilsvar.events import SignInFromNewPlace, record_events
from tilsvar.models import Brand, Organization, SignInAttempt, User, UserBrand, WebSession, utcnow
from tilsvar.models.org import ROLES
from tilsvar.passwords import hash_password, needs_rehash, token_hash, verify_password
from tilsvar.settings import get_settings

ISSUER = "Tilsvar"
RECOVERY_CODES = 10
# Verified against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(slots=True)
class SignInResult:
    """What a sign-in attempt came to; ``error`` (with ``status``) when refused."""

    user: User | None = None
    cookie: str = ""
    csrf: str = ""
    second_factor_pending: bool = False
    new_place: bool = False
    error: str = ""
    status: int = 200
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


def _minutes(value: timedelta) -> int:
    return max(1, int(value.total_seconds() // 60) + (1 if value.total_seconds() % 60 else 0))


def _locked_message(until: datetime) -> str:
    return (
        "This account is locked after too many failed sign-ins. Try again after "
        f"{until.strftime('%H:%M UTC')}, or ask an administrator to unlock it."
    )


def _recent_failures(
    session: Session, *, since: datetime, email: str | None = None, ip: str | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.success.is_(False), SignInAttempt.at >= since)
    )
    if email is not None:
        query = query.where(SignInAttempt.email == email)
    if ip is not None:
        query = query.where(SignInAttempt.ip == ip)
    return int(session.scalar(query) or 0)


def _open_session(
    session: Session, *, user: User, ip: str, user_agent: str, pending: bool
) -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            user_id=user.id,
            token_hash=token_hash(token),
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=get_settings().session_max_age_hours),
            user_agent=user_agent[:400],
            ip=ip[:64],
            second_factor_pending=pending,
        )
    )
    return token, csrf


def _fail(session: Session, user: User, *, reason: str) -> str:
    """Count a wrong password or code against ``user``; lock the account at the limit."""
    settings = get_settings()
    user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
    if user.failed_sign_ins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
        audit(
            session,
            action="auth.account_locked",
            actor_user=user,
            target_type="user",
            target_id=user.id,
            details={"failures": user.failed_sign_ins, "reason": reason},
        )
        return _locked_message(user.locked_until)
    return ""


def do_sign_in(
    session: Session, *, email: str, password: str, ip: str = "", user_agent: str = ""
) -> SignInResult:
    """Check a password sign-in against the throttles and open a web session.

    Refused when the client address has too many recent failures (429), when the account is locked
    (429, unknown e-mails lock the same way so the answer reveals nothing), or when the password is
    wrong (401). With two-factor on, the session opens pending its TOTP code."""
    settings = get_settings()
    email = email.strip().casefold()[:320]
    now = utcnow()
    window = now - timedelta(minutes=settings.login_window_minutes)
    if ip and _recent_failures(session, since=window, ip=ip) >= settings.login_ip_max_failures:
        audit(session, action="auth.sign_in_throttled", actor=email[:200], details={"ip": ip})
        return SignInResult(
            error=(
                "Too many failed sign-ins from your network. Try again in "
                f"{_minutes(timedelta(minutes=settings.login_window_minutes))} minutes."
            ),
            status=429,
        )
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit(
            session,
            action="auth.sign_in_locked",
            actor=email[:200],
            organization_id=user.organization_id,
            target_type="user",
            target_id=user.id,
            details={"ip": ip},
        )
        return SignInResult(error=_locked_message(user.locked_until), status=429)
    if user is None:
        lockout = now - timedelta(minutes=settings.login_lockout_minutes)
        if _recent_failures(session, since=lockout, email=email) >= settings.login_max_failures:
            session.add(SignInAttempt(at=now, email=email, ip=ip[:64], user_agent=user_agent[:400]))
            audit(session, action="auth.sign_in_locked", actor=email[:200], details={"ip": ip})
            return SignInResult(error=_locked_message(now + (now - lockout)), status=429)
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not user.is_active or not valid:
        session.add(
            SignInAttempt(
                at=now,
                email=email,
                ip=ip[:64],
                user_agent=user_agent[:400],
                user_id=user.id if user else None,
            )
        )
        locked = _fail(session, user, reason="password") if user is not None and user.is_active else ""
        audit(
            session,
            action="auth.sign_in_failed",
            actor=email[:200],
            organization_id=user.organization_id if user else None,
            target_type="user" if user else "",
            target_id=user.id if user else "",
            details={"ip": ip, "user_agent": user_agent[:200]},
        )
        if locked:
            return SignInResult(error=locked, status=429)
        return SignInResult(error="wrong e-mail or password", status=401)
    new_place = bool(
        session.scalar(
            select(SignInAttempt.id).where(SignInAttempt.user_id == user.id, SignInAttempt.success).limit(1)
        )
    ) and not session.scalar(
        select(SignInAttempt.id)
        .where(
            SignInAttempt.user_id == user.id,
            SignInAttempt.success,
            SignInAttempt.ip == ip[:64],
            SignInAttempt.user_agent == user_agent[:400],
        )
        .limit(1)
    )
    session.add(
        SignInAttempt(
            at=now, email=email, ip=ip[:64], user_agent=user_agent[:400], user_id=user.id, success=True
        )
    )
    user.failed_sign_ins = 0
    user.locked_until = None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
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
        details={"ip": ip, "user_agent": user_agent[:200], "second_factor": "pending" if pending else "off"},
    )
    if new_place:
        audit(
            session,
            action="auth.new_place",
            actor_user=user,
            target_type="user",
            target_id=user.id,
            details={"ip": ip, "user_agent": user_agent[:200]},
        )
        record_events(
            session,
            [
                SignInFromNewPlace(
                    organization_id=user.organization_id, user_id=user.id, ip=ip, user_agent=user_agent[:200]
                )
            ],
        )
    return SignInResult(
        user=user, cookie=cookie, csrf=csrf, second_factor_pending=pending, new_place=new_place
    )


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").casefold().encode()).hexdigest()


def _totp(user: User) -> pyotp.TOTP | None:
    if user.totp_secret_encrypted is None:
        return None
    secret = secret_box().decrypt(user.totp_secret_encrypted, context=f"user-totp:{user.id}".encode())
    return pyotp.TOTP(secret.decode())


def check_second_factor(session: Session, *, user: User, code: str) -> str:
    """Whether ``code`` is the user's current TOTP code or an unused recovery code (which is then
    used up): returns "totp", "recovery" or ""."""
    code = code.strip().replace(" ", "")
    totp = _totp(user)
    if totp is not None and code.isdigit() and len(code) == 6 and totp.verify(code, valid_window=1):
        return "totp"
    hashes = list(user.recovery_code_hashes or [])
    wanted = _recovery_hash(code)
    for stored in hashes:
        if secrets.compare_digest(stored, wanted):
            hashes.remove(stored)
            user.recovery_code_hashes = hashes
            return "recovery"
    return ""


def do_complete_second_factor(
    session: Session, *, web_session: WebSession, user: User, code: str
) -> SignInResult:
    """Finish a pending sign-in with a TOTP or recovery code; a fresh cookie replaces the pending one
    (so a cookie seen before the second factor is worth nothing after it)."""
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return SignInResult(error=_locked_message(user.locked_until), status=429)
    used = check_second_factor(session, user=user, code=code)
    if not used:
        locked = _fail(session, user, reason="second factor")
        audit(
            session,
            action="auth.second_factor_failed",
            actor_user=user,
            target_type="user",
            target_id=user.id,
        )
        if locked:
            session.delete(web_session)
            return SignInResult(error=locked, status=429)
        return SignInResult(error="That code is not right. Try the current code from your app.", status=401)
    cookie = secrets.token_urlsafe(32)
    web_session.token_hash = token_hash(cookie)
    web_session.second_factor_pending = False
    web_session.last_seen_at = now
    user.failed_sign_ins = 0
    user.last_login_at = now
    audit(
        session,
        action="auth.second_factor_ok",
        actor_user=user,
        target_type="user",
        target_id=user.id,
        details={"method": used, "recovery_codes_left": len(user.recovery_code_hashes or [])},
    )
    return SignInResult(user=user, cookie=cookie, csrf=web_session.csrf_token)


def do_sign_out(session: Session, *, token: str) -> None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is not None:
        session.delete(row)
        audit(session, action="auth.signed_out", actor="user", target_type="user", target_id=row.user_id)


def do_revoke_session(session: Session, *, user: User, session_id: int) -> None:
    """End one of the user's own sign-ins."""
    row = session.get(WebSession, session_id)
    if row is None or row.user_id != user.id:
        raise ActionError("no such session", status=404)
    session.delete(row)
    audit(
        session,
        action="auth.session_revoked",
        actor_user=user,
        target_type="web_session",
        target_id=session_id,
    )


def do_revoke_other_sessions(session: Session, *, user: User, keep_session_id: int | None = None) -> int:
    """End every sign-in of the user except ``keep_session_id`` (the one asking); returns how many."""
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session_id is not None:
        query = query.where(WebSession.id != keep_session_id)
    count = cast(CursorResult[Any], session.execute(query)).rowcount
    audit(
        session,
        action="auth.sessions_revoked",
        actor_user=user,
        target_type="user",
        target_id=user.id,
        details={"count": count},
    )
    return int(count)


def do_start_totp(session: Session, *, user: User) -> tuple[str, str]:
    """Begin two-factor enrolment: a new secret (stored encrypted, not yet active); returns it and its
    otpauth:// URI, to be shown once."""
    if user.totp_enabled_at is not None:
        raise ActionError(
            "two-factor sign-in is already on; turn it off first to change the device", status=409
        )
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = secret_box().encrypt(
        secret.encode(), context=f"user-totp:{user.id}".encode()
    )
    audit(session, action="auth.two_factor_started", actor_user=user, target_type="user", target_id=user.id)
    return secret, pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def do_confirm_totp(session: Session, *, user: User, code: str) -> list[str]:
    """Turn two-factor on once the user proves a code from the new secret; returns the recovery codes
    (shown once, stored as hashes)."""
    if user.totp_enabled_at is not None:
        raise ActionError("two-factor sign-in is already on", status=409)
    totp = _totp(user)
    if totp is None:
        raise ActionError("start the two-factor set-up first", status=409)
    if not totp.verify(code.strip().replace(" ", ""), valid_window=1):
        raise ActionError("That code is not right. Check the time on your phone and try the current code.")
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    user.recovery_code_hashes = [_recovery_hash(code) for code in codes]
    user.totp_enabled_at = utcnow()
    audit(session, action="auth.two_factor_enabled", actor_user=user, target_type="user", target_id=user.id)
    return codes


def do_disable_totp(session: Session, *, user: User, password: str, actor_user: User | None = None) -> None:
    """Turn two-factor off: the user with their password, or a user administrator for a lost device."""
    own = actor_user is None or actor_user.id == user.id
    if own and not verify_password(user.password_hash, password):
        raise ActionError("wrong password", status=403)
    if user.totp_enabled_at is None and user.totp_secret_encrypted is None:
        return
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.recovery_code_hashes = None
    audit(
        session,
        action="auth.two_factor_disabled",
        actor_user=actor_user or user,
        organization_id=user.organization_id,
        target_type="user",
        target_id=user.id,
    )


def do_unlock_user(session: Session, *, user: User, actor_user: User | None = None) -> None:
    """Lift a lockout now (an administrator, or ``tilsvar users unlock``)."""
    user.failed_sign_ins = 0
    user.locked_until = None
    session.execute(
        delete(SignInAttempt).where(SignInAttempt.email == user.email, SignInAttempt.success.is_(False))
    )
    audit(
        session,
        action="user.unlocked",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        organization_id=user.organization_id,
        target_type="user",
        target_id=user.id,
    )


def do_change_role(
    session: Session,
    *,
    user: User,
    actor_user: User | None,
    role: str | None = None,
    brands: list[Brand] | None = None,
    all_brands: bool | None = None,
    active: bool | None = None,
) -> User:
    """Change what a user may do: role, brand scope, active. Audited with the before and after."""
    before = {
        "role": user.role,
        "all_brands": user.all_brands,
        "brand_ids": sorted(session.scalars(select(UserBrand.brand_id).where(UserBrand.user_id == user.id))),
        "active": user.is_active,
    }
    if role is not None:
        if role not in ROLES:
            raise ActionError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if actor_user is not None and actor_user.id == user.id and role != "admin":
            raise ActionError("you cannot take away your own administrator role", status=409)
        user.role = role
    if brands is not None:
        if any(brand.organization_id != user.organization_id for brand in brands):
            raise ActionError("a brand of another organisation", status=404)
        session.execute(delete(UserBrand).where(UserBrand.user_id == user.id))
        for brand in brands:
            session.add(UserBrand(user_id=user.id, brand_id=brand.id))
        user.all_brands = False
    if all_brands is not None and all_brands:
        user.all_brands = True
    if active is not None:
        if actor_user is not None and actor_user.id == user.id and not active:
            raise ActionError("you cannot deactivate yourself", status=409)
        user.is_active = active
        if not active:
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    from tilsvar.actions.workflow_config import bump_roster

    bump_roster(session, user.organization_id)  # an inactive user is offered no conversations
    after = {
        "role": user.role,
        "all_brands": user.all_brands,
        "brand_ids": sorted(session.scalars(select(UserBrand.brand_id).where(UserBrand.user_id == user.id))),
        "active": user.is_active,
    }
    audit(
        session,
        action="user.permissions_changed",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        organization_id=user.organization_id,
        target_type="user",
        target_id=user.id,
        details={"before": before, "after": after},
    )
    return user


def do_require_two_factor(
    session: Session, *, organization: Organization, required: bool, actor_user: User | None = None
) -> None:
    """Make two-factor sign-in compulsory (or not) for everyone in the organisation."""
    if organization.require_two_factor == required:
        return
    organization.require_two_factor = required
    audit(
        session,
        action="organization.two_factor_required" if required else "organization.two_factor_optional",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        organization_id=organization.id,
        target_type="organization",
        target_id=organization.id,
    )
