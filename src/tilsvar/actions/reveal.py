"""Need-to-know reveal of masked personal data (docs/privacy.md).

Masked messages show ``redacted_text``; seeing the original needs the ``reveal`` permission and a
reason. A user who has handled the customer before (replied, been assigned, or written a note in any
of the contact's conversations) is approved at once; "new hands" need a supervisor's approval
(``privacy`` permission, never their own request). An approval is valid for ``REVEAL_MINUTES``.
Every request, decision and reveal is audited; the revealed text is never written anywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.models import Conversation, Message, User, utcnow
from tilsvar.models.privacy import RevealRequest
from tilsvar.models.workflow import Note
from tilsvar.privacy.sealing import open_text

REVEAL_MINUTES = 30


def has_handled(session: Session, *, user: User, conversation: Conversation) -> bool:
    """Whether ``user`` replied to, was assigned or wrote a note on this customer before."""
    if conversation.contact_id is None:
        ids = select(Conversation.id).where(Conversation.id == conversation.id)
    else:
        ids = select(Conversation.id).where(Conversation.contact_id == conversation.contact_id)
    assigned = session.scalar(
        select(exists().where(Conversation.id.in_(ids), Conversation.assignee_id == user.id))
    )
    replied = session.scalar(
        select(exists().where(Message.conversation_id.in_(ids), Message.author_user_id == user.id))
    )
    noted = session.scalar(
        select(exists().where(Note.conversation_id.in_(ids), Note.author_user_id == user.id))
    )
    return bool(assigned or replied or noted)


def valid_grant(session: Session, *, user: User, conversation: Conversation) -> RevealRequest | None:
    return session.scalar(
        select(RevealRequest)
        .where(
            RevealRequest.conversation_id == conversation.id,
            RevealRequest.user_id == user.id,
            RevealRequest.status == "approved",
            RevealRequest.expires_at > utcnow(),
        )
        .order_by(RevealRequest.id.desc())
        .limit(1)
    )


def do_request_reveal(
    session: Session, *, user: User, conversation: Conversation, reason: str
) -> RevealRequest:
    """Ask to see the conversation's personal data: approved at once for a user who has handled
    the customer, otherwise pending a supervisor's decision (an open request is reused)."""
    access.require(user, "reveal")
    reason = reason.strip()
    if len(reason) < 3:
        raise ActionError("give a reason for seeing the personal data (it is kept in the audit log)")
    granted = valid_grant(session, user=user, conversation=conversation)
    if granted is not None:
        return granted
    pending = session.scalar(
        select(RevealRequest).where(
            RevealRequest.conversation_id == conversation.id,
            RevealRequest.user_id == user.id,
            RevealRequest.status == "pending",
        )
    )
    if pending is not None:
        return pending
    handled = has_handled(session, user=user, conversation=conversation)
    now = utcnow()
    request = RevealRequest(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        user_id=user.id,
        reason=reason[:500],
        status="approved" if handled else "pending",
        needed_approval=not handled,
        decided_at=now if handled else None,
        expires_at=now + timedelta(minutes=REVEAL_MINUTES) if handled else None,
    )
    session.add(request)
    session.flush()
    audit(
        session,
        action="privacy.reveal_request",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={"request_id": request.id, "reason": request.reason, "needs_approval": not handled},
    )
    return request


def access_reveal_request(session: Session, user: User, request_id: int) -> RevealRequest:
    access.require(user, "privacy")
    request = session.get(RevealRequest, request_id)
    if request is None or request.organization_id != user.organization_id:
        raise access.NotFound(f"reveal request {request_id}")
    access.access_conversation(session, user, request.conversation_id)
    return request


def do_decide_reveal(session: Session, *, user: User, request: RevealRequest, approve: bool) -> None:
    """A supervisor approves (for ``REVEAL_MINUTES``) or denies a pending request."""
    access.require(user, "privacy")
    if request.user_id == user.id:
        raise ActionError("someone else has to approve your own request", status=403)
    if request.status != "pending":
        raise ActionError(f"the request is already {request.status}", status=409)
    now = utcnow()
    request.status = "approved" if approve else "denied"
    request.decided_by_user_id = user.id
    request.decided_at = now
    request.expires_at = now + timedelta(minutes=REVEAL_MINUTES) if approve else None
    audit(
        session,
        action="privacy.reveal_approve" if approve else "privacy.reveal_deny",
        actor_user=user,
        target_type="conversation",
        target_id=request.conversation_id,
        details={"request_id": request.id, "requester_user_id": request.user_id},
    )


def do_reveal(session: Session, *, user: User, conversation: Conversation) -> dict[str, Any]:
    """The original text of the conversation's masked messages, under a valid grant; audited."""
    access.require(user, "reveal")
    grant = valid_grant(session, user=user, conversation=conversation)
    if grant is None:
        raise ActionError("ask to reveal first (a supervisor may have to approve)", status=409)
    rows = session.execute(
        select(Message.id, Message.text, Message.text_sealed)
        .where(
            Message.conversation_id == conversation.id,
            or_(Message.has_pii.is_(True), Message.redacted_text.is_not(None)),
        )
        .order_by(Message.created_at, Message.id)
    ).all()
    audit(
        session,
        action="privacy.reveal",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={"request_id": grant.id, "message_ids": [row[0] for row in rows]},
    )
    assert grant.expires_at is not None
    return {
        "status": "approved",
        "request_id": grant.id,
        "expires_at": grant.expires_at.isoformat(),
        "messages": [{"id": row[0], "text": open_text(row[1], row[2])} for row in rows],
    }


def pending_requests(session: Session, user: User) -> list[RevealRequest]:
    """Requests waiting for a decision in the brands ``user`` may see (supervisors)."""
    access.require(user, "privacy")
    return list(
        session.scalars(
            select(RevealRequest)
            .join(Conversation, Conversation.id == RevealRequest.conversation_id)
            .where(
                RevealRequest.status == "pending",
                RevealRequest.organization_id == user.organization_id,
                Conversation.brand_id.in_(access.brand_ids(session, user)),
            )
            .order_by(RevealRequest.id)
        )
    )
