"""Messages Tilsvar sends by itself (out-of-hours auto-replies, rule auto-replies, CSAT surveys).

They go through the same outbound queue as agents' replies, but are marked ``is_automatic`` so they
never count as an answer (KPIS.md): the SLA clocks keep running and the conversation stays waiting.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from tilsvar.events import ReplyQueued, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Channel, Conversation, Message, utcnow


def queue_automatic_message(
    session: Session, *, conversation: Conversation, text: str, author: str
) -> Message:
    channel = session.get_one(Channel, conversation.channel_id)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        channel_id=channel.id,
        direction="out",
        kind=conversation.kind,
        author_name=author,
        text=text,
        created_at=now,
        received_at=now,
        is_automatic=True,
        delivery_state="queued",
        idempotency_key=f"auto-{uuid.uuid4().hex}",
    )
    session.add(message)
    session.flush()
    enqueue(session, queue="outbound", kind="outbound.send", payload={"message_id": message.id})
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
    return message
