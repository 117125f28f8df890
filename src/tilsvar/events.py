"""The typed domain events and the in-process hub that tells live views about them.

Every event type is a pydantic model registered here. Actions write events to the ``domain_events``
table in their own transaction (so the log is complete and ordered with the data) and wake the hub
after commit. The hub also polls the table, so events written by another process (a worker, an
import, another API node) reach this process's live views too; on PostgreSQL a NOTIFY in the same
transaction wakes every other node's listener (``tilsvar.notify``) at once, but correctness never
depends on it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from tilsvar.db import bulk_insert, on_commit
from tilsvar.models import DomainEvent, utcnow
from tilsvar.models.base import table_of


class Event(BaseModel):
    """Base of every domain event. ``type`` names it in the log and on the wire."""

    type: ClassVar[str]
    organization_id: int | None = None
    brand_id: int | None = None
    conversation_id: int | None = None


class MessageReceived(Event):
    type: ClassVar[str] = "message.received"
    message_id: int
    direction: str
    platform: str


class ConversationCreated(Event):
    type: ClassVar[str] = "conversation.created"


class ConversationUpdated(Event):
    type: ClassVar[str] = "conversation.updated"
    fields: list[str] = []


class ReplyQueued(Event):
    type: ClassVar[str] = "reply.queued"
    message_id: int


class DeliveryChanged(Event):
    type: ClassVar[str] = "delivery.changed"
    message_id: int
    state: str
    error: str = ""


class MessageAnalyzed(Event):
    type: ClassVar[str] = "message.analyzed"
    message_id: int


class JobDead(Event):
    type: ClassVar[str] = "job.dead"
    job_id: int
    kind: str
    error: str


class ChannelStatusChanged(Event):
    """A channel needs attention (its token expired or access was revoked): an alert for admins."""

    type: ClassVar[str] = "channel.status_changed"
    channel_id: int
    status: str
    reason: str = ""


class ModerationChanged(Event):
    """A customer's public message was flagged, or hiding/unhiding/deleting it was asked or done."""

    type: ClassVar[str] = "moderation.changed"
    message_id: int
    state: str
    reason: str = ""


class SignInFromNewPlace(Event):
    """A user signed in from an address and browser never seen for them before: an account-safety
    alert for the user and administrators (no brand, so it never reaches inbox live views)."""

    type: ClassVar[str] = "auth.new_place"
    user_id: int
    ip: str
    user_agent: str


class WorkflowChanged(Event):
    """Routing, assignment, status, a note, a draft or a survey changed a conversation (its timeline)."""

    type: ClassVar[str] = "workflow.changed"
    kind: str
    summary: str = ""


class SlaAlert(Event):
    """An SLA clock is about to breach (``level`` warning) or has breached (``breach``); once each."""

    type: ClassVar[str] = "sla.alert"
    metric: str
    level: str
    due_at: str | None = None


class NotificationCreated(Event):
    type: ClassVar[str] = "notification.created"
    user_id: int
    kind: str
    text: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        MessageReceived,
        ConversationCreated,
        ConversationUpdated,
        ReplyQueued,
        DeliveryChanged,
        MessageAnalyzed,
        JobDead,
        ChannelStatusChanged,
        ModerationChanged,
        SignInFromNewPlace,
    )
}


@functools.cache
def _payload_fields(event_type: type[Event]) -> tuple[str, ...]:
    """The fields an event keeps in its payload (the rest are columns of the log)."""
    return tuple(name for name in event_type.model_fields if name not in COLUMN_FIELDS)


COLUMN_FIELDS = frozenset({"organization_id", "brand_id", "conversation_id"})


def record_events(session: Session, events: list[Event], *, occurred_at: datetime | None = None) -> None:
    """Write ``events`` in the session's transaction and wake live views once it commits."""
    if not events:
        return
    at = occurred_at or utcnow()
    bulk_insert(
        session,
        table_of(DomainEvent),
        [
            {
                "type": event.type,
                "occurred_at": at,
                "organization_id": event.organization_id,
                "brand_id": event.brand_id,
                "conversation_id": event.conversation_id,
                "payload": {name: getattr(event, name) for name in _payload_fields(type(event))},
            }
            for event in events
        ],
    )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to other processes' listeners (tilsvar.notify) only if this transaction commits.
        session.execute(text("SELECT pg_notify('tilsvar_events', '')"))
    on_commit(session, hub.wake)


def parse_event(row: DomainEvent) -> dict[str, Any]:
    """A stored event as the dict live views receive."""
    return {
        "id": row.id,
        "type": row.type,
        "occurred_at": row.occurred_at.isoformat(),
        "brand_id": row.brand_id,
        "conversation_id": row.conversation_id,
        **row.payload,
    }


class EventHub:
    """Wakes waiting live views; they read the event log themselves after each wake-up."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self._listeners: list[Callable[[], None]] = []

    def wake(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._condition:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._condition:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def wait(self, generation: int, timeout: float) -> int:
        """Block until woken after ``generation`` or until ``timeout``; return the new generation."""
        with self._condition:
            if self._generation == generation:
                self._condition.wait(timeout)
            return self._generation

    @property
    def generation(self) -> int:
        return self._generation


hub = EventHub()
