"""Web chat writes and the reads its public endpoints need: connect a chat channel (its public key
and the origins allowed to use it), store a visitor's message through the one ingest path, and read
one visitor's transcript (their messages and the brand's sent replies, nothing else)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import do_create_channel
from tilsvar.actions.reply_files import public_link
from tilsvar.channels.webchat import chat_message, normalize_origin, thread_key
from tilsvar.models import Brand, Channel, Conversation, Message, MessageAttachment, User, utcnow
from tilsvar.privacy.sealing import open_text
from tilsvar.settings import get_settings


def do_connect_webchat_channel(
    session: Session,
    *,
    brand: Brand,
    account: str,
    allowed_origins: Sequence[str],
    title: str = "",
    name: str | None = None,
    actor_user: User | None = None,
) -> Channel:
    """Connect a web chat: a fresh public key names it in the widget URL; only pages on
    ``allowed_origins`` (``https://www.example.org``) may use it."""
    origins = [normalize_origin(origin) for origin in allowed_origins]
    if not origins or not all(origins):
        raise ActionError("web chat needs the site origins it runs on, like https://www.example.org")
    return do_create_channel(
        session,
        brand=brand,
        platform="webchat",
        account=account,
        name=name,
        config={
            "public_key": secrets.token_urlsafe(18),
            "allowed_origins": origins,
            "title": title or f"Chat with {brand.name}",
        },
        actor_user=actor_user,
    )


def webchat_channel(session: Session, *, public_key: str) -> Channel | None:
    """The active web chat channel whose public key this is."""
    for channel in session.scalars(select(Channel).where(Channel.platform == "webchat")):
        key = str((channel.config or {}).get("public_key") or "")
        if key and hmac.compare_digest(key.encode(), public_key.encode()) and channel.status == "active":
            return channel
    return None


def do_post_chat_message(
    session: Session, *, channel_id: int, visitor: str, text: str, client_id: str | None, name: str = ""
) -> int:
    """Store a visitor's message (a resent one with the same client id is not stored twice);
    returns the message id."""
    channel = session.get_one(Channel, channel_id)
    message = chat_message(
        account=channel.account, visitor=visitor, text=text, client_id=client_id, name=name, at=utcnow()
    )
    result = do_ingest_messages(session, messages=[message], actor="webchat")
    if result.stored:
        return result.stored[0]
    existing = session.scalar(
        select(Message.id).where(Message.channel_id == channel.id, Message.external_id == message.external_id)
    )
    if existing is None:
        raise ActionError("the message could not be stored", status=409)
    return int(existing)


def chat_transcript(
    session: Session, *, channel_id: int, visitor: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The visitor's latest messages and the brand's replies that were sent, oldest first."""
    conversation_id = session.scalar(
        select(Conversation.id).where(
            Conversation.channel_id == channel_id, Conversation.thread_key == thread_key(visitor)
        )
    )
    if conversation_id is None:
        return []
    rows = session.execute(
        select(Message.id, Message.direction, Message.text, Message.text_sealed, Message.created_at)
        .where(
            Message.conversation_id == conversation_id,
            (Message.direction == "in") | (Message.delivery_state == "sent"),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    files: dict[int, list[dict[str, Any]]] = {}
    out_ids = [row.id for row in rows if row.direction == "out"]
    if out_ids:
        base_url = get_settings().effective_base_url
        for file in session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id.in_(out_ids))
            .order_by(MessageAttachment.id)
        ):
            files.setdefault(file.message_id, []).append(
                {
                    "filename": file.filename,
                    "content_type": file.content_type,
                    "size": file.size,
                    "url": public_link(base_url, file.id, file.sha256),
                }
            )
    return [
        {
            "id": row.id,
            "direction": row.direction,
            "text": open_text(row.text, row.text_sealed),  # the visitor's own words
            "created_at": row.created_at.isoformat(),
            **({"attachments": files[row.id]} if row.id in files else {}),
        }
        for row in reversed(rows)
    ]
