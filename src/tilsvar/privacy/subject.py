"""One data subject: the person behind an author id on a platform, every identity merged into their
contact, the messages they wrote, and the conversations those messages live in.

A conversation is *theirs* when its contact is theirs and no other customer wrote in it; it then goes
whole (with the brand's replies) on erasure. Any other conversation with a message of theirs is
*shared*: only their messages, and the brand's replies to them, are touched."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.models import Conversation, Identity, Message
from tilsvar.privacy import blind


@dataclass
class Subject:
    organization_id: int
    contact_ids: list[int]
    identity_ids: list[int]
    author_ids: list[str]  # the platform ids of every identity (needles for raw payloads)
    message_ids: list[int] = field(default_factory=list)  # written by them
    own_conversation_ids: list[int] = field(default_factory=list)
    shared_conversation_ids: list[int] = field(default_factory=list)

    @property
    def conversation_ids(self) -> list[int]:
        return sorted(set(self.own_conversation_ids) | set(self.shared_conversation_ids))


def find_subjects(
    session: Session, *, platform: str, author_id: str, organization_id: int | None = None
) -> list[Subject]:
    """The person known as ``author_id`` on ``platform``, per organisation (one, given the org)."""
    stored = list(blind.lookup_ids(platform, [author_id]))
    query = select(Identity).where(Identity.platform == platform, Identity.external_id.in_(stored))
    if organization_id is not None:
        query = query.where(Identity.organization_id == organization_id)
    subjects = []
    for found in session.scalars(query):
        identities = list(
            session.scalars(
                select(Identity).where(Identity.contact_id == found.contact_id).order_by(Identity.id)
            )
        )
        identity_ids = [identity.id for identity in identities]
        subject = Subject(
            organization_id=found.organization_id,
            contact_ids=[found.contact_id],
            identity_ids=identity_ids,
            author_ids=sorted({identity.platform_id for identity in identities}),
        )
        rows = session.execute(
            select(Message.id, Message.conversation_id).where(Message.author_identity_id.in_(identity_ids))
        ).all()
        subject.message_ids = sorted(row[0] for row in rows)
        candidates = {row[1] for row in rows} | set(
            session.scalars(select(Conversation.id).where(Conversation.contact_id == found.contact_id))
        )
        # Conversations where someone else wrote as a customer too are shared.
        others = set(
            session.scalars(
                select(Message.conversation_id)
                .where(
                    Message.conversation_id.in_(candidates),
                    Message.direction == "in",
                    (Message.author_identity_id.is_(None))
                    | (Message.author_identity_id.not_in(identity_ids)),
                )
                .distinct()
            )
        )
        owned = set(
            session.scalars(
                select(Conversation.id).where(
                    Conversation.id.in_(candidates), Conversation.contact_id == found.contact_id
                )
            )
        )
        subject.own_conversation_ids = sorted(owned - others)
        subject.shared_conversation_ids = sorted(candidates - set(subject.own_conversation_ids))
        subjects.append(subject)
    return subjects
