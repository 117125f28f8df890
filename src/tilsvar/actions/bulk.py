"""Bulk actions from the inbox: assign, tag, resolve or hide many conversations in one step.

An agent ticks rows (or presses ``x`` on them) and applies one action to all of them. Each conversation
goes through the same single-conversation action the conversation page uses (``do_assign``,
``do_set_status``, ``do_moderate_message``), so rules, audit rows and events are identical; the bulk step
adds one audit row naming the whole selection. All of it is one transaction: if one conversation refuses
(say, a status it cannot take), nothing changes and the agent sees why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.events import ConversationUpdated, Event, record_events
from tilsvar.models import Conversation, ConversationTag, Message, Tag, User

BulkAction = Literal["assign_me", "tag", "resolve", "hide"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("assign_me", "tag", "resolve", "hide")
MAX_SELECTION = 200
HIDEABLE_KINDS = ("comment", "post")
HIDDEN_STATES = ("hidden", "hide_pending", "deleted", "delete_pending")


@dataclass(slots=True)
class BulkResult:
    changed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # nothing to do (already resolved, nothing to hide)


def _tag(session: Session, conversation: Conversation, name: str) -> bool:
    tag = session.scalar(
        select(Tag).where(Tag.organization_id == conversation.organization_id, Tag.name == name)
    )
    if tag is None:
        tag = Tag(organization_id=conversation.organization_id, name=name)
        session.add(tag)
        session.flush()
    if session.get(ConversationTag, (conversation.id, tag.id)) is not None:
        return False
    session.add(ConversationTag(conversation_id=conversation.id, tag_id=tag.id))
    return True


def _hide(session: Session, user: User, conversation: Conversation, reason: str) -> bool:
    from tilsvar.actions.moderation import do_moderate_message

    messages = session.scalars(
        select(Message).where(
            Message.conversation_id == conversation.id,
            Message.direction == "in",
            Message.kind.in_(HIDEABLE_KINDS),
        )
    )
    hidden = False
    for message in messages:
        if message.moderation_state in HIDDEN_STATES or message.moderation_state.endswith("_pending"):
            continue
        do_moderate_message(session, user=user, message=message, action="hide", reason=reason)
        hidden = True
    return hidden


def do_bulk_update(
    session: Session,
    *,
    user: User,
    conversation_ids: list[int],
    action: str,
    tag: str = "",
    reason: str = "",
) -> BulkResult:
    """Apply ``action`` to every conversation in ``conversation_ids`` the user may see."""
    from tilsvar.actions.workflow import do_assign, do_set_status

    access.require(user, "moderate" if action == "hide" else "reply")
    if action not in BULK_ACTIONS:
        raise ActionError(f"action must be one of {', '.join(BULK_ACTIONS)}", status=422)
    ids = sorted(set(conversation_ids))
    if not ids:
        raise ActionError("select at least one conversation", status=422)
    if len(ids) > MAX_SELECTION:
        raise ActionError(f"select at most {MAX_SELECTION} conversations at once", status=422)
    tag = tag.strip()[:100]
    if action == "tag" and not tag:
        raise ActionError("name the tag", status=422)
    if action == "hide" and not reason.strip():
        raise ActionError("give a reason for hiding (colleagues see it; it is audited)", status=422)
    result = BulkResult()
    events: list[Event] = []
    for conversation_id in ids:
        conversation = access.access_conversation(session, user, conversation_id)
        if action == "assign_me":
            changed = conversation.assignee_id != user.id
            if changed:
                do_assign(session, user=user, conversation=conversation, assignee_id=user.id)
        elif action == "resolve":
            changed = conversation.status not in ("resolved", "closed")
            if changed:
                do_set_status(session, user=user, conversation=conversation, status="resolved")
        elif action == "tag":
            changed = _tag(session, conversation, tag)
            if changed:
                events.append(
                    ConversationUpdated(
                        organization_id=conversation.organization_id,
                        brand_id=conversation.brand_id,
                        conversation_id=conversation.id,
                        fields=["tags"],
                    )
                )
        else:
            changed = _hide(session, user, conversation, reason.strip())
        (result.changed if changed else result.skipped).append(conversation.id)
    audit(
        session,
        action=f"conversations.bulk_{action}",
        actor_user=user,
        target_type="conversation",
        target_id=",".join(str(i) for i in result.changed)[:200],
        details={"changed": result.changed, "skipped": result.skipped, "tag": tag, "reason": reason[:300]},
    )
    record_events(session, events)
    return result
