"""Hide, unhide and delete customers' public messages on their platform: by a brand's moderation
policy (from the understanding pipeline) or by an agent, always with a reason and an undo.

Asking is a database change plus a ``moderation.apply`` job in the same transaction; the job calls the
platform through the channel's connector and records the outcome, so the agent sees
pending → hidden (or failed with the platform's reason). Hiding is the default: it can be undone.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.events import Event, ModerationChanged, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Conversation, Message, User

Action = Literal["hide", "unhide", "delete"]
ACTIONS: tuple[Action, ...] = ("hide", "unhide", "delete")
# Messages a brand can hide on its own pages: public comments and posts by customers.
MODERATED_KINDS = frozenset({"comment", "post"})
PENDING = {"hide": "hide_pending", "unhide": "unhide_pending", "delete": "delete_pending"}
DONE = {"hide": "hidden", "unhide": "restored", "delete": "deleted"}
FAILED = {"hide": "hide_failed", "unhide": "unhide_failed", "delete": "delete_failed"}


def request_moderation(
    session: Session,
    *,
    message_id: int,
    action: Action,
    reason: str,
    actor: str,
    actor_user: User | None = None,
    organization_id: int | None = None,
) -> None:
    """Mark the message pending and queue the platform call (in the caller's transaction)."""
    session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(moderation_state=PENDING[action], moderation_reason=reason[:300])
    )
    enqueue(
        session,
        queue="outbound",
        kind="moderation.apply",
        payload={"message_id": message_id, "action": action},
    )
    audit(
        session,
        action=f"message.{action}",
        actor=actor,
        actor_user=actor_user,
        organization_id=organization_id,
        target_type="message",
        target_id=message_id,
        details={"reason": reason[:300]},
    )


def do_moderate_message(
    session: Session, *, user: User, message: Message, action: Action, reason: str
) -> None:
    """An agent hides, unhides (undo) or deletes a customer's public message, giving a reason."""
    from tilsvar.actions.analysis import refresh_conversation_labels

    if action not in ACTIONS:
        raise ActionError(f"action must be one of {', '.join(ACTIONS)}")
    if message.direction != "in" or message.kind not in MODERATED_KINDS:
        raise ActionError("only customers' public comments and posts can be hidden or deleted")
    if not reason.strip():
        raise ActionError("give a reason (it is shown to colleagues and kept in the audit log)")
    if message.moderation_state in PENDING.values():
        raise ActionError("the platform has not answered the last request for this message yet", status=409)
    if action == "unhide" and message.moderation_state not in ("hidden", "hide_failed", "flagged"):
        raise ActionError("the message is not hidden")
    conversation = session.get_one(Conversation, message.conversation_id)
    request_moderation(
        session,
        message_id=message.id,
        action=action,
        reason=reason.strip(),
        actor=user.email,
        actor_user=user,
        organization_id=conversation.organization_id,
    )
    events: list[Event] = [
        ModerationChanged(
            organization_id=conversation.organization_id,
            brand_id=conversation.brand_id,
            conversation_id=conversation.id,
            message_id=message.id,
            state=PENDING[action],
            reason=reason.strip()[:300],
        )
    ]
    events += refresh_conversation_labels(session, conversation_ids=[conversation.id])
    record_events(session, events)


def do_clear_flag(session: Session, *, user: User, message: Message, reason: str) -> None:
    """An agent looked at a flagged message and finds it fine."""
    from tilsvar.actions.analysis import refresh_conversation_labels

    if message.moderation_state != "flagged":
        raise ActionError("the message is not flagged")
    conversation = session.get_one(Conversation, message.conversation_id)
    session.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(moderation_state="cleared", moderation_reason=reason.strip()[:300])
    )
    audit(
        session,
        action="message.flag_cleared",
        actor=user.email,
        actor_user=user,
        organization_id=conversation.organization_id,
        target_type="message",
        target_id=message.id,
        details={"reason": reason.strip()[:300]},
    )
    events: list[Event] = [
        ModerationChanged(
            organization_id=conversation.organization_id,
            brand_id=conversation.brand_id,
            conversation_id=conversation.id,
            message_id=message.id,
            state="cleared",
            reason=reason.strip()[:300],
        )
    ]
    events += refresh_conversation_labels(session, conversation_ids=[conversation.id])
    record_events(session, events)


def do_record_moderation_result(
    session: Session, *, message_id: int, action: Action, error: str = ""
) -> None:
    """The platform carried out (or, with ``error``, refused) a moderation request."""
    from tilsvar.actions.analysis import refresh_conversation_labels

    row = session.execute(
        select(
            Message.moderation_reason, Conversation.id, Conversation.brand_id, Conversation.organization_id
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == message_id)
    ).first()
    if row is None:
        return
    reason, conversation_id, brand_id, organization_id = row
    state = FAILED[action] if error else DONE[action]
    values: dict[str, str] = {"moderation_state": state}
    if error:
        values["moderation_reason"] = f"{reason} — the platform refused: {error}"[:300]
    elif action == "hide":
        values["platform_state"] = "hidden"
    elif action == "unhide":
        values["platform_state"] = "unhidden"
    else:
        values["platform_state"] = "removed"
    session.execute(update(Message).where(Message.id == message_id).values(**values))
    events: list[Event] = [
        ModerationChanged(
            organization_id=organization_id,
            brand_id=brand_id,
            conversation_id=conversation_id,
            message_id=message_id,
            state=state,
            reason=values.get("moderation_reason", reason),
        )
    ]
    events += refresh_conversation_labels(session, conversation_ids=[conversation_id])
    record_events(session, events)
