"""Helpers every action uses: the audit row, the error type for refused actions, and aggregation of
a conversation's timestamps from its messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tilsvar.audit_chain import append as append_audit_entry
from tilsvar.audit_chain import append_row as append_audit_row
from tilsvar.models import AuditEntry, User


class ActionError(Exception):
    """An action refused its input; ``reason`` is safe to show to the user."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def audit(
    session: Session,
    *,
    action: str,
    actor_user: User | None = None,
    actor: str = "",
    organization_id: int | None = None,
    target_type: str = "",
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Append a row to the hash-chained audit trail (tilsvar.audit_chain)."""
    append_audit_entry(
        session,
        AuditEntry(
            organization_id=organization_id
            if organization_id is not None
            else getattr(actor_user, "organization_id", None),
            actor_user_id=actor_user.id if actor_user else None,
            actor=(actor or (actor_user.email if actor_user else "system"))[:200],
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details or {},
        ),
    )


def audit_row(
    session: Session,
    *,
    action: str,
    actor: str,
    organization_id: int | None,
    target_type: str = "",
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> None:
    """``audit`` by a system actor, written with a Core insert (for paths that run per message)."""
    append_audit_row(
        session,
        organization_id=organization_id,
        actor_user_id=None,
        actor=(actor or "system")[:200],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
    )


@dataclass(slots=True)
class MessageFact:
    """What the conversation timestamps depend on, per message."""

    inbound: bool
    created_at: datetime
    counts_as_answer: bool  # outbound, delivered, and not automatic
    text: str


def aggregate_conversation(facts: Iterable[MessageFact]) -> dict[str, Any]:
    """The conversation columns that follow from all its messages (KPIS.md definitions)."""
    ordered = sorted(facts, key=lambda fact: fact.created_at)
    if not ordered:
        raise ValueError("a conversation has at least one message")
    values: dict[str, Any] = {
        "first_message_at": ordered[0].created_at,
        "first_message_inbound": ordered[0].inbound,
        "first_inbound_at": None,
        "first_response_at": None,
        "last_inbound_at": None,
        "last_outbound_at": None,
        "last_message_at": None,
        "waiting_since": None,
        "message_count": 0,
        "preview": ordered[0].text[:300],
    }
    apply_messages(values, ordered)
    return values


def apply_messages(values: dict[str, Any], facts: Iterable[MessageFact]) -> None:
    """Advance the conversation columns by messages, given in time order and none older than the
    conversation's last message (anything else needs ``aggregate_conversation``)."""
    for fact in facts:
        values["message_count"] += 1
        values["last_message_at"] = fact.created_at
        if fact.inbound:
            if values["first_inbound_at"] is None:
                values["first_inbound_at"] = fact.created_at
            values["last_inbound_at"] = fact.created_at
            if values["waiting_since"] is None:
                values["waiting_since"] = fact.created_at
            if fact.text:
                values["preview"] = fact.text[:300]
        elif fact.counts_as_answer:
            if values["first_inbound_at"] is not None and values["first_response_at"] is None:
                values["first_response_at"] = fact.created_at
            values["last_outbound_at"] = fact.created_at
            values["waiting_since"] = None


AGGREGATE_COLUMNS = (
    "first_message_at",
    "first_message_inbound",
    "first_inbound_at",
    "first_response_at",
    "last_inbound_at",
    "last_outbound_at",
    "last_message_at",
    "waiting_since",
    "message_count",
    "preview",
)
