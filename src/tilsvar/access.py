"""Every authorization decision in one place: which brands a user may see, what a role may do, and
the ``access_*`` loaders that return tenant data or raise ``NotFound`` (never revealing whether
another brand's object exists)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tilsvar.models import ApiToken, Brand, Channel, Conversation, Message, Team, User, UserBrand
from tilsvar.models.listening import Mention, Monitor

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"read", "reply", "moderate", "ingest", "report", "jobs", "channels", "users", "audit", "account"}
        | {"workflow"}  # configure routing rules, SLA policies, calendars, teams' assignment
        | {"analytics"}  # wall-screen kiosk links and weekly-report schedules
        | {"privacy", "reveal"}  # data-subject requests and retention; see masked personal data
    ),
    "supervisor": frozenset({"read", "reply", "moderate", "ingest", "report", "jobs", "audit", "account"})
    | {"workflow", "analytics", "privacy", "reveal"},
    "agent": frozenset({"read", "reply", "moderate", "account", "reveal"}),
    "press": frozenset({"read", "reply", "moderate", "account", "reveal"}),
    "marketing": frozenset({"read", "reply", "moderate", "account"}),
    "analyst": frozenset({"read", "report", "account"}),
    "readonly": frozenset({"read", "account"}),
}

# What an API token may do is its user's role's permissions narrowed to those its scopes grant.
SCOPES: dict[str, frozenset[str]] = {
    "read": frozenset({"read", "reveal"}),
    "reply": frozenset({"reply"}),
    "moderate": frozenset({"moderate"}),
    "ingest": frozenset({"ingest"}),
    "report": frozenset({"report"}),
    "admin": frozenset({"jobs", "channels", "users", "audit", "account", "workflow", "analytics", "privacy"}),
}
_SCOPES_ATTRIBUTE = "_tilsvar_token_scopes"


class NotFound(Exception):
    """The object does not exist or the user may not know that it does."""


class Forbidden(Exception):
    """The user may see the object but not do this to it."""


def limit_to_scopes(user: User, scopes: list[str]) -> None:
    """Narrow what ``user`` (loaded for one API request) may do to what the token's scopes grant."""
    granted: set[str] = set()
    for scope in scopes:
        granted |= SCOPES.get(scope, frozenset())
    setattr(user, _SCOPES_ATTRIBUTE, frozenset(granted))


def can(user: User, permission: str) -> bool:
    if not user.is_active or permission not in PERMISSIONS.get(user.role, frozenset()):
        return False
    granted: frozenset[str] | None = getattr(user, _SCOPES_ATTRIBUTE, None)
    return granted is None or permission in granted


def require(user: User, permission: str) -> None:
    if not can(user, permission):
        if permission in PERMISSIONS.get(user.role, frozenset()):
            raise Forbidden(f"this API token's scopes do not allow {permission}")
        raise Forbidden(f"the {user.role} role may not {permission}")


def require_channel_admin(user: User) -> None:
    """Connecting channels or changing their credentials: the permission and two-factor sign-in."""
    require(user, "channels")
    if user.totp_enabled_at is None:
        raise Forbidden("channel administration needs two-factor sign-in; turn it on under Account")


def access_user(session: Session, actor: User, user_id: int) -> User:
    """Another user of the actor's organisation, for user administration."""
    require(actor, "users")
    user = session.get(User, user_id)
    if user is None or user.organization_id != actor.organization_id:
        raise NotFound(f"user {user_id}")
    return user


def access_team(session: Session, actor: User, team_id: int) -> Team:
    """A team of the actor's organisation, for workflow settings (members, assignment)."""
    require(actor, "workflow")
    team = session.get(Team, team_id)
    if team is None or team.organization_id != actor.organization_id:
        raise NotFound(f"team {team_id}")
    return team


def access_agent(session: Session, actor: User, user_id: int) -> User:
    """A user of the actor's organisation whose workflow profile (presence, skills, capacity) the
    actor may set: their own, or anyone's with the workflow permission."""
    if user_id != actor.id:
        require(actor, "workflow")
    user = session.get(User, user_id)
    if user is None or user.organization_id != actor.organization_id:
        raise NotFound(f"user {user_id}")
    return user


def access_api_token(session: Session, actor: User, token_id: int) -> ApiToken:
    """One of the actor's own tokens, or (for user administrators) any token in the organisation."""
    require(actor, "account")
    token = session.get(ApiToken, token_id)
    owner = session.get(User, token.user_id) if token is not None else None
    if token is None or owner is None or owner.organization_id != actor.organization_id:
        raise NotFound(f"API token {token_id}")
    if owner.id != actor.id and not can(actor, "users"):
        raise NotFound(f"API token {token_id}")
    return token


def brand_ids(session: Session, user: User) -> list[int]:
    """The brands ``user`` may see."""
    if user.all_brands:
        query: Select[int] = select(Brand.id).where(Brand.organization_id == user.organization_id)
    else:
        query = (
            select(Brand.id)
            .join(UserBrand, UserBrand.brand_id == Brand.id)
            .where(UserBrand.user_id == user.id, Brand.organization_id == user.organization_id)
        )
    return list(session.scalars(query))


def brands(session: Session, user: User) -> list[Brand]:
    return list(
        session.scalars(select(Brand).where(Brand.id.in_(brand_ids(session, user))).order_by(Brand.name))
    )


def visible_conversations(session: Session, user: User) -> Select[Conversation]:
    """A query of the conversations ``user`` may see, to be narrowed further by the caller."""
    return select(Conversation).where(Conversation.brand_id.in_(brand_ids(session, user)))


def access_conversation(session: Session, user: User, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.brand_id not in brand_ids(session, user):
        raise NotFound(f"conversation {conversation_id}")
    return conversation


def access_message(session: Session, user: User, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"message {message_id}")
    access_conversation(session, user, message.conversation_id)
    return message


def access_channel(session: Session, user: User, *, platform: str, account_key: str) -> Channel:
    channel = session.scalar(
        select(Channel).where(Channel.platform == platform, Channel.account_key == account_key)
    )
    if channel is None or channel.brand_id not in brand_ids(session, user):
        raise NotFound(f"{platform} channel {account_key}")
    return channel


def visible_channels(session: Session, user: User) -> list[Channel]:
    return list(
        session.scalars(
            select(Channel).where(Channel.brand_id.in_(brand_ids(session, user))).order_by(Channel.name)
        )
    )


def access_monitor(session: Session, user: User, monitor_id: int) -> Monitor:
    """A listening monitor of a brand ``user`` may see (else NotFound, as for any other brand)."""
    monitor = session.get(Monitor, monitor_id)
    if monitor is None or monitor.brand_id not in brand_ids(session, user):
        raise NotFound(f"monitor {monitor_id}")
    return monitor


def access_mention(session: Session, user: User, mention_id: int) -> Mention:
    """A mention found by listening, in a brand ``user`` may see."""
    mention = session.get(Mention, mention_id)
    if mention is None or mention.brand_id not in brand_ids(session, user):
        raise NotFound(f"mention {mention_id}")
    return mention
