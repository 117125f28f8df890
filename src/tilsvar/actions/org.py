"""Set up who and what Tilsvar serves: organisations, brands, teams, channels, users, API tokens and
web sign-ins."""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.access import SCOPES
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.workflow_config import bump_roster
from tilsvar.channels import PLATFORMS, normalize_account
from tilsvar.crypto import SecretBox, keyring
from tilsvar.models import (
    ApiToken,
    Brand,
    Channel,
    Organization,
    Team,
    TeamMember,
    User,
    UserBrand,
    utcnow,
)
from tilsvar.models.org import ROLES, UI_LANGUAGES
from tilsvar.passwords import hash_password, new_token, token_hash
from tilsvar.settings import get_settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:64] or "x"


def secret_box() -> SecretBox:
    return keyring()


def do_create_organization(session: Session, *, name: str, slug: str | None = None) -> Organization:
    organization = Organization(name=name, slug=slug or slugify(name))
    session.add(organization)
    session.flush()
    audit(
        session,
        action="organization.created",
        organization_id=organization.id,
        target_type="organization",
        target_id=organization.id,
        details={"name": name},
    )
    return organization


def do_create_brand(
    session: Session, *, organization: Organization, name: str, slug: str | None = None
) -> Brand:
    brand = Brand(organization_id=organization.id, name=name, slug=slug or slugify(name))
    session.add(brand)
    session.flush()
    audit(
        session,
        action="brand.created",
        organization_id=organization.id,
        target_type="brand",
        target_id=brand.id,
        details={"name": name},
    )
    return brand


def do_create_team(session: Session, *, organization: Organization, name: str) -> Team:
    team = Team(organization_id=organization.id, name=name, slug=slugify(name))
    session.add(team)
    session.flush()
    bump_roster(session, organization.id)
    audit(
        session,
        action="team.created",
        organization_id=organization.id,
        target_type="team",
        target_id=team.id,
        details={"name": name},
    )
    return team


def do_add_team_member(session: Session, *, team: Team, user: User, actor_user: User | None = None) -> None:
    if user.organization_id != team.organization_id:
        raise ActionError("that user belongs to another organisation", status=404)
    if session.get(TeamMember, (team.id, user.id)) is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        bump_roster(session, team.organization_id)
        audit(
            session,
            action="team.member_added",
            actor_user=actor_user,
            organization_id=team.organization_id,
            target_type="team",
            target_id=team.id,
            details={"user_id": user.id},
        )


def do_remove_team_member(
    session: Session, *, team: Team, user: User, actor_user: User | None = None
) -> None:
    """Take ``user`` out of ``team``; the conversations they own stay theirs (hand them over first)."""
    member = session.get(TeamMember, (team.id, user.id))
    if member is None:
        return
    session.delete(member)
    session.flush()
    bump_roster(session, team.organization_id)
    audit(
        session,
        action="team.member_removed",
        actor_user=actor_user,
        organization_id=team.organization_id,
        target_type="team",
        target_id=team.id,
        details={"user_id": user.id},
    )


def do_create_channel(
    session: Session,
    *,
    brand: Brand,
    platform: str,
    account: str,
    name: str | None = None,
    mode: str = "live",
    credentials: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    team: Team | None = None,
    actor_user: User | None = None,
) -> Channel:
    """Connect a brand account; credentials are stored AES-GCM encrypted, bound to the channel."""
    if platform not in PLATFORMS:
        raise ActionError(f"unknown platform {platform!r}; one of {', '.join(PLATFORMS)}")
    if mode not in {"live", "simulated"}:
        raise ActionError("mode is live or simulated")
    key = normalize_account(platform, account)
    if not key:
        raise ActionError("an account is required")
    if session.scalar(select(Channel).where(Channel.platform == platform, Channel.account_key == key)):
        raise ActionError(f"{platform} account {account!r} is already connected", status=409)
    channel = Channel(
        brand_id=brand.id,
        platform=platform,
        account=account.lstrip("@") if platform in {"x", "instagram"} else account,
        account_key=key,
        name=name or f"{platform}: {account}",
        mode=mode,
        config=config or {},
        team_id=team.id if team else None,
    )
    session.add(channel)
    session.flush()
    if credentials:
        channel.credentials_encrypted = secret_box().encrypt_json(
            credentials, context=_channel_context(channel)
        )
    audit(
        session,
        action="channel.created",
        actor_user=actor_user,
        organization_id=brand.organization_id,
        target_type="channel",
        target_id=channel.id,
        details={"platform": platform, "account": account, "mode": mode},
    )
    return channel


def channel_credentials(channel: Channel) -> dict[str, Any]:
    return decrypt_channel_credentials(channel.id, channel.credentials_encrypted)


# Decrypted credentials by (key file, channel id, ciphertext): every webhook verifies with a channel's
# secret, and reading the key file and decrypting per request cost more than the rest of the receipt.
# The ciphertext is part of the key (it has a random nonce), so changed credentials are never served
# stale, in this process or after another process changed them; entries are copied on the way out.
_CREDENTIALS_CACHE: dict[tuple[str, int, bytes], dict[str, Any]] = {}
_CREDENTIALS_CACHE_SIZE = 1024


def decrypt_channel_credentials(channel_id: int, encrypted: bytes | None) -> dict[str, Any]:
    """A channel's decrypted credentials (cached; see above)."""
    if not encrypted:
        return {}
    key = (str(get_settings().effective_secret_key_file), channel_id, bytes(encrypted))
    cached = _CREDENTIALS_CACHE.get(key)
    if cached is None:
        cached = secret_box().decrypt_json(key[2], context=f"channel:{channel_id}".encode())
        if len(_CREDENTIALS_CACHE) >= _CREDENTIALS_CACHE_SIZE:
            _CREDENTIALS_CACHE.clear()
        _CREDENTIALS_CACHE[key] = cached
    return copy.deepcopy(cached)


def _channel_context(channel: Channel) -> bytes:
    return f"channel:{channel.id}".encode()


def do_create_user(
    session: Session,
    *,
    organization: Organization,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
    brands: list[Brand] | None = None,
    actor_user: User | None = None,
) -> User:
    email = email.strip().casefold()
    if not _EMAIL.match(email):
        raise ActionError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise ActionError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise ActionError("a password needs at least 8 characters")
    if session.scalar(select(User).where(User.email == email)):
        raise ActionError(f"a user {email} exists already", status=409)
    user = User(
        organization_id=organization.id,
        email=email,
        name=name or email.split("@")[0],
        role=role,
        password_hash=hash_password(password) if password else None,
        all_brands=brands is None,
    )
    session.add(user)
    session.flush()
    for brand in brands or []:
        session.add(UserBrand(user_id=user.id, brand_id=brand.id))
    bump_roster(session, organization.id)
    audit(
        session,
        action="user.created",
        actor_user=actor_user,
        organization_id=organization.id,
        target_type="user",
        target_id=user.id,
        details={"email": email, "role": role},
    )
    return user


def do_create_api_token(
    session: Session,
    *,
    user: User,
    name: str,
    scopes: list[str] | None = None,
    actor_user: User | None = None,
) -> str:
    """Create a token for ``user`` and return it; only its hash is kept, so it is shown once. Without
    ``scopes`` it may do everything the user's role allows."""
    chosen = sorted(set(scopes)) if scopes is not None else list(SCOPES)
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown or not chosen:
        raise ActionError(f"scopes are some of {', '.join(SCOPES)}; not {', '.join(unknown) or 'none'}")
    name = name.strip()[:200] or "token"
    token = new_token("tsv")
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), prefix=token[:8], scopes=chosen)
    session.add(row)
    session.flush()
    audit(
        session,
        action="api_token.created",
        actor_user=actor_user or user,
        organization_id=user.organization_id,
        target_type="api_token",
        target_id=row.id,
        details={"name": name, "user_id": user.id, "scopes": chosen},
    )
    return token


def do_revoke_api_token(session: Session, *, token: ApiToken, actor_user: User | None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit(
        session,
        action="api_token.revoked",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        organization_id=session.scalar(select(User.organization_id).where(User.id == token.user_id)),
        target_type="api_token",
        target_id=token.id,
        details={"name": token.name, "user_id": token.user_id},
    )


def do_set_user_language(session: Session, *, user: User, language: str, actor_user: User | None) -> None:
    """The web UI's language for one user ("" = follow the organisation's default / the browser)."""
    _set_language(
        session,
        target=user,
        target_type="user",
        organization_id=user.organization_id,
        language=language,
        actor_user=actor_user,
    )


def do_set_organization_language(
    session: Session, *, organization: Organization, language: str, actor_user: User | None
) -> None:
    """The default web UI language of an organisation's users ("" = each browser's language)."""
    _set_language(
        session,
        target=organization,
        target_type="organization",
        organization_id=organization.id,
        language=language,
        actor_user=actor_user,
    )


def _set_language(
    session: Session,
    *,
    target: User | Organization,
    target_type: str,
    organization_id: int,
    language: str,
    actor_user: User | None,
) -> None:
    """Set ``target.locale`` (checked against the UI's languages) and audit the change, if any."""
    if language and language not in UI_LANGUAGES:
        raise ActionError(f"unknown language {language!r}; one of {', '.join(UI_LANGUAGES)}")
    if target.locale == language:
        return
    before, target.locale = target.locale, language
    audit(
        session,
        action=f"{target_type}.language_changed",
        actor_user=actor_user,
        organization_id=organization_id,
        target_type=target_type,
        target_id=target.id,
        details={"from": before, "to": language},
    )
