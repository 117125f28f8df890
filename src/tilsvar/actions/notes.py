"""Internal notes on a conversation — never sent to the customer — and their @mentions.

``@anders`` mentions the colleague whose e-mail address starts ``anders@`` (or whose first name is
Anders, when only one colleague has it); ``@anders@nordicrail.example`` names them exactly. Each
mentioned colleague who may see the conversation's brand is notified once.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.timeline import add_timeline, notify
from tilsvar.models import Conversation, User, utcnow
from tilsvar.models.workflow import Note, Notification

MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def find_mentions(session: Session, *, organization_id: int, text: str) -> list[User]:
    names = {match.group(1).rstrip(".").casefold() for match in MENTION.finditer(text)}
    if not names:
        return []
    users = list(
        session.scalars(select(User).where(User.organization_id == organization_id, User.is_active.is_(True)))
    )
    found: dict[int, User] = {}
    for name in names:
        exact = [u for u in users if u.email.casefold() == name or u.email.casefold().split("@")[0] == name]
        if not exact:
            exact = [u for u in users if (u.name.split() or [""])[0].casefold() == name]
        if len(exact) == 1:
            found[exact[0].id] = exact[0]
    return list(found.values())


def do_add_note(
    session: Session, *, user: User, conversation: Conversation, text: str, notify_mentions: bool = True
) -> Note:
    text = text.strip()
    if not text:
        raise ActionError("a note needs some text", status=422)
    if len(text) > 10000:
        raise ActionError("a note has at most 10000 characters", status=422)
    mentioned = [
        person
        for person in find_mentions(session, organization_id=conversation.organization_id, text=text)
        if conversation.brand_id in access.brand_ids(session, person)
    ]
    note = Note(
        conversation_id=conversation.id,
        author_user_id=user.id,
        text=text,
        mentions=[person.id for person in mentioned],
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    add_timeline(
        session,
        conversation=conversation,
        kind="note",
        summary=f"Note by {user.name}",
        actor_user=user,
        details={"note_id": note.id},
    )
    if notify_mentions and mentioned:
        notify(
            session,
            user_ids=[person.id for person in mentioned],
            kind="mention",
            text=f"{user.name} mentioned you: {text[:200]}",
            conversation=conversation,
            skip_user_id=user.id,
        )
    audit(
        session,
        action="note.added",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={"note_id": note.id, "mentions": note.mentions},
    )
    return note


def do_mark_notifications_read(session: Session, *, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None)."""
    query = select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    now = utcnow()
    count = 0
    for row in session.scalars(query):
        row.read_at = now
        count += 1
    return count
