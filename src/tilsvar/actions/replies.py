"""Replies from the brand: queue them (the outbound job delivers), then record what the platform did.

A reply is a message with direction ``out`` and delivery state ``queued`` → ``sent`` or ``failed``.
It only enters the conversation's timeline (answered, first response, waiting) once it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, aggregate_conversation, audit
from tilsvar.actions.ingest import conversation_facts
from tilsvar.actions.reply_files import ReplyFile, check_reply_files, store_reply_files
from tilsvar.events import ConversationUpdated, DeliveryChanged, ReplyQueued, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Channel, Conversation, Message, User, utcnow

TEXT_LIMITS = {"x": 280, "linkedin": 1250, "youtube": 10000, "instagram": 2200, "facebook": 8000}
DEFAULT_TEXT_LIMIT = 20000


def check_reply_text(*, platform: str, text: str) -> str:
    """The reply text, stripped, or an ``ActionError`` saying why it cannot be sent."""
    text = text.strip()
    if not text:
        raise ActionError("a reply needs some text")
    limit = TEXT_LIMITS.get(platform, DEFAULT_TEXT_LIMIT)
    if len(text) > limit:
        raise ActionError(f"{platform} allows at most {limit} characters; this reply has {len(text)}")
    return text


def do_reply(
    session: Session,
    *,
    user: User,
    conversation: Conversation,
    text: str,
    idempotency_key: str | None = None,
    approved: bool = False,
    attachments: Sequence[ReplyFile] = (),
) -> Message:
    """Queue a reply in ``conversation`` written by ``user``; repeating an idempotency key is a no-op.
    A conversation whose routing requires approval refuses replies (409) unless ``approved`` (an
    approver sends a reviewed draft, ``actions.drafts``). ``attachments`` are checked and stored with
    the reply (``actions.reply_files``); a channel that cannot send files refuses them."""
    channel = session.get_one(Channel, conversation.channel_id)
    text = check_reply_text(platform=channel.platform, text=text)
    files = check_reply_files(platform=channel.platform, files=attachments)
    if not approved:
        from tilsvar.actions.drafts import check_reply_allowed

        check_reply_allowed(session, user=user, conversation=conversation)
    if idempotency_key:
        existing = session.scalar(
            select(Message).where(
                Message.channel_id == channel.id, Message.idempotency_key == idempotency_key
            )
        )
        if existing is not None:
            if existing.conversation_id != conversation.id:
                raise ActionError("this idempotency key was used for another conversation", status=409)
            return existing
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        channel_id=channel.id,
        direction="out",
        kind=conversation.kind,
        author_user_id=user.id,
        author_name=user.name,
        text=text,
        created_at=now,
        received_at=now,
        delivery_state="queued",
        idempotency_key=idempotency_key or uuid.uuid4().hex,
    )
    session.add(message)
    session.flush()
    stored = store_reply_files(session, channel_id=channel.id, message_id=message.id, files=files)
    enqueue(session, queue="outbound", kind="outbound.send", payload={"message_id": message.id})
    if conversation.assignee_id is None:
        conversation.assignee_id = user.id
    conversation.updated_at = now
    record_events(
        session,
        [
            ReplyQueued(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                message_id=message.id,
            )
        ],
    )
    audit(
        session,
        action="reply.queued",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={
            "message_id": message.id,
            "characters": len(text),
            **(
                {"attachments": [{"id": row.id, "size": row.size, "sha256": row.sha256} for row in stored]}
                if stored
                else {}
            ),
        },
    )
    return message


def do_record_delivery(
    session: Session, *, message_id: int, external_id: str, recipient_id: str | None = None
) -> bool:
    """The platform accepted the reply: mark it sent and count it in the conversation.

    ``recipient_id``: the customer's id in a private conversation that the platform told only on this
    send (a private reply to a comment answers with the Messenger PSID): the conversation takes that
    thread key, so the customer's answer lands in it, unless another conversation already has it.

    Returns False (and changes nothing) when the reply was already recorded as sent, so a job that
    runs twice has the effect of once."""
    message = session.get_one(Message, message_id, with_for_update=True)
    if message.delivery_state == "sent":
        return False
    now = utcnow()
    echo = session.scalar(
        select(Message).where(
            Message.channel_id == message.channel_id,
            Message.external_id == external_id,
            Message.id != message.id,
            Message.direction == "out",
        )
    )
    if echo is not None:
        # The platform's echo of this very send was stored before the send returned: it is this reply.
        session.delete(echo)
        session.flush()
    message.delivery_state = "sent"
    message.delivery_error = ""
    message.delivery_attempts += 1
    message.external_id = external_id
    message.created_at = now  # a reply's time on the platform is when it was accepted
    session.flush()
    conversation = session.get_one(Conversation, message.conversation_id)
    values = aggregate_conversation(
        conversation_facts(session, conversation_ids=[conversation.id])[conversation.id]
    )
    if conversation.status == "new":
        values["status"] = "open"
    values["updated_at"] = now
    key = f"dm:{recipient_id}" if recipient_id else None
    if key and conversation.kind == "dm" and conversation.thread_key != key:
        taken = session.scalar(
            select(Conversation.id).where(
                Conversation.channel_id == conversation.channel_id, Conversation.thread_key == key
            )
        )
        if taken is None:
            values["thread_key"] = key
    session.execute(update(Conversation).where(Conversation.id == conversation.id).values(**values))
    _delivery_events(session, conversation=conversation, message=message)
    from tilsvar.actions.sla import refresh_sla

    session.refresh(conversation)
    refresh_sla(session, conversation=conversation)  # a reply stops the response clocks
    audit(
        session,
        action="reply.sent",
        actor="worker",
        organization_id=conversation.organization_id,
        target_type="message",
        target_id=message.id,
        details={"external_id": external_id},
    )
    return True


def do_record_delivery_failure(session: Session, *, message_id: int, reason: str, final: bool) -> None:
    """A send attempt failed: show why, and whether it will be retried or has failed for good."""
    message = session.get_one(Message, message_id, with_for_update=True)
    if message.delivery_state == "sent":
        return
    message.delivery_attempts += 1
    message.delivery_error = reason[:1000]
    message.delivery_state = "failed" if final else "queued"
    conversation = session.get_one(Conversation, message.conversation_id)
    _delivery_events(session, conversation=conversation, message=message)
    if final:
        audit(
            session,
            action="reply.failed",
            actor="worker",
            organization_id=conversation.organization_id,
            target_type="message",
            target_id=message.id,
            details={"reason": reason[:500]},
        )


def do_retry_reply(session: Session, *, user: User, message: Message) -> None:
    """Send a failed reply again (an agent asked to)."""
    if message.direction != "out" or message.delivery_state != "failed":
        raise ActionError("only a failed reply can be sent again", status=409)
    message.delivery_state = "queued"
    message.delivery_error = ""
    enqueue(session, queue="outbound", kind="outbound.send", payload={"message_id": message.id})
    conversation = session.get_one(Conversation, message.conversation_id)
    _delivery_events(session, conversation=conversation, message=message)
    audit(session, action="reply.retried", actor_user=user, target_type="message", target_id=message.id)


def _delivery_events(session: Session, *, conversation: Conversation, message: Message) -> None:
    record_events(
        session,
        [
            DeliveryChanged(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                message_id=message.id,
                state=message.delivery_state,
                error=message.delivery_error,
            ),
            ConversationUpdated(
                organization_id=conversation.organization_id,
                brand_id=conversation.brand_id,
                conversation_id=conversation.id,
                fields=["delivery"],
            ),
        ],
    )
