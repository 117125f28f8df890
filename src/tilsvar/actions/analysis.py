"""Store what the understanding pipeline found in a message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.events import Event, MessageAnalyzed, record_events
from tilsvar.models import Conversation, Message


def do_store_analysis(session: Session, *, results: dict[int, dict[str, Any]]) -> None:
    """Save each message's analysis (overwriting an earlier one: running twice is harmless)."""
    if not results:
        return
    session.execute(
        update(Message),
        [
            {"id": message_id, "analysis": analysis, "language": analysis.get("language")}
            for message_id, analysis in results.items()
        ],
    )
    rows = session.execute(
        select(Message.id, Message.conversation_id, Conversation.brand_id, Conversation.organization_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(list(results)))
    )
    events: list[Event] = [
        MessageAnalyzed(
            organization_id=organization_id,
            brand_id=brand_id,
            conversation_id=conversation_id,
            message_id=mid,
        )
        for mid, conversation_id, brand_id, organization_id in rows
    ]
    record_events(session, events)
