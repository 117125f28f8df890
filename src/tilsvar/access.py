"""Every authorization decision in one place: which brands a user may see, what a role may do, and
the ``access_*`` loaders that return tenant data or raise ``NotFound`` (never revealing whether
another brand's object exists)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tilsvar.models import Brand, Channel, Conversation, Message, User, UserBrand

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "reply", "moderate", "ingest", "report", "jobs", "channels", "users"}),
    "supervisor": frozenset({"read", "reply", "moderate", "ingest", "report", "jobs"}),
    "agent": frozenset({"read", "reply", "moderate"}),
    "press": frozenset({"read", "reply", "moderate"}),
    "marketing": frozenset({"read", "reply", "moderate"}),
    "analyst": frozenset({"read", "report"}),
    "readonly": frozenset({"read"}),
}


class NotFound(Exception):
    """The object does not exist or the user may not know that it does."""


class Forbidden(Exception):
    """The user may see the object but not do this to it."""


def can(user: User, permission: str) -> bool:
    return user.is_active and permission in PERMISSIONS.get(user.role, frozenset())


def require(user: User, permission: str) -> None:
    if not can(user, permission):
        raise Forbidden(f"the {user.role} role may not {permission}")


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
