"""One customer across channels: merging contacts (with undo), and moving a public comment into a
private conversation that keeps its owner.

A merge moves the source contact's identities and conversations to the target and remembers exactly
which, so undoing it moves those back (anything that arrived in between stays where it landed). The
source contact row is kept, empty, so an undo has something to return to.

Moving to private: the private conversation is the DM thread ingest would file the customer's next
direct message in (``dm:<author id>`` on the same channel), created now if it does not exist, with the
public conversation's team and assignee; the two are linked both ways in ``conversation_workflow``.
An optional public reply ("we have written to you privately") is queued on the public comment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.replies import do_reply
from tilsvar.actions.sla import workflow_state
from tilsvar.actions.timeline import add_timeline
from tilsvar.events import ConversationCreated, record_events
from tilsvar.models import Contact, ContactTag, Conversation, Identity, Message, Tag, User, utcnow
from tilsvar.models.workflow import ContactMerge, ConversationWorkflowState

# Platforms where a brand can write to a customer privately (LinkedIn has no messages to Pages).
PRIVATE_PLATFORMS = frozenset({"facebook", "instagram", "x"})
# Platforms whose first private message to a commenter is a private reply to the comment (Meta).
PRIVATE_REPLY_PLATFORMS = frozenset({"facebook", "instagram"})


def private_reply_target(session: Session, *, conversation: Conversation) -> dict[str, Any] | None:
    """For a private conversation moved from a public comment (``do_move_to_private``) in which the
    customer has not written yet: the comment or visitor post its first message answers privately
    (Meta lets a Page reach a commenter only that way), with when it was written."""
    linked = session.scalar(
        select(ConversationWorkflowState.linked_conversation_id).where(
            ConversationWorkflowState.conversation_id == conversation.id
        )
    )
    if linked is None or conversation.kind != "dm":
        return None
    first = session.execute(
        select(Message.external_id, Message.kind, Message.created_at)
        .where(Message.conversation_id == linked, Message.direction == "in")
        .order_by(Message.created_at, Message.id)
        .limit(1)
    ).first()
    if first is None:
        return None
    external_id, kind, created_at = first
    return {"post_id" if kind == "post" else "comment_id": external_id, "created_at": created_at}


TAG_MAX = 100


def _tag_names(values: Iterable[str]) -> set[str]:
    names = set()
    for value in values:
        name = " ".join(str(value).split()).casefold()
        if not name:
            continue
        if len(name) > TAG_MAX:
            raise ActionError(f"a tag has at most {TAG_MAX} characters", status=422)
        names.add(name)
    return names


def contact_tags(session: Session, contact_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(Tag.name)
            .join(ContactTag, ContactTag.tag_id == Tag.id)
            .where(ContactTag.contact_id == contact_id)
        )
    )


def do_set_contact_tags(
    session: Session,
    *,
    user: User,
    contact_id: int,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> list[str]:
    """Tag a customer (vip, press, partner ...) or take tags off; routing rules ask for these with
    ``customer_tags``. Tags are shared with conversation tags (one list per organisation), compared
    without case. Returns the customer's tags afterwards."""
    contact = _contact(session, user, contact_id)
    wanted, unwanted = _tag_names(add), _tag_names(remove)
    if wanted & unwanted:
        raise ActionError("a tag cannot be added and removed at once", status=422)
    existing = dict(
        session.execute(
            select(Tag.name, Tag.id).where(
                Tag.organization_id == contact.organization_id, Tag.name.in_(wanted | unwanted)
            )
        ).all()
    )
    for name in sorted(wanted - set(existing)):
        tag = Tag(organization_id=contact.organization_id, name=name)
        session.add(tag)
        session.flush()
        existing[name] = tag.id
    present = set(session.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == contact.id)))
    for name in sorted(wanted):
        if existing[name] not in present:
            session.add(ContactTag(contact_id=contact.id, tag_id=existing[name]))
    drop = [existing[name] for name in unwanted if name in existing]
    if drop:
        session.execute(
            delete(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag_id.in_(drop))
        )
    session.flush()
    tags = contact_tags(session, contact.id)
    audit(
        session,
        action="contact.tags_set",
        actor_user=user,
        target_type="contact",
        target_id=contact.id,
        details={"added": sorted(wanted), "removed": sorted(unwanted), "tags": tags},
    )
    return tags


def _contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organization_id != user.organization_id:
        raise access.NotFound(f"contact {contact_id}")
    return contact


def do_merge_contacts(
    session: Session, *, user: User, source_contact_id: int, target_contact_id: int
) -> ContactMerge:
    if source_contact_id == target_contact_id:
        raise ActionError("a contact cannot be merged into itself", status=422)
    source = _contact(session, user, source_contact_id)
    target = _contact(session, user, target_contact_id)
    identity_ids = list(session.scalars(select(Identity.id).where(Identity.contact_id == source.id)))
    conversation_ids = list(
        session.scalars(select(Conversation.id).where(Conversation.contact_id == source.id))
    )
    if not identity_ids and not conversation_ids:
        raise ActionError("that contact has nothing left to merge", status=409)
    session.execute(update(Identity).where(Identity.id.in_(identity_ids)).values(contact_id=target.id))
    session.execute(
        update(Conversation).where(Conversation.id.in_(conversation_ids)).values(contact_id=target.id)
    )
    merge = ContactMerge(
        organization_id=user.organization_id,
        source_contact_id=source.id,
        target_contact_id=target.id,
        source_name=source.display_name,
        identity_ids=identity_ids,
        conversation_ids=conversation_ids,
        merged_by_user_id=user.id,
        merged_at=utcnow(),
    )
    session.add(merge)
    session.flush()
    for conversation in session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids))):
        add_timeline(
            session,
            conversation=conversation,
            kind="contact_merged",
            summary=f"Customer {source.display_name!r} merged into {target.display_name!r}",
            actor_user=user,
            details={"merge_id": merge.id},
        )
    audit(
        session,
        action="contacts.merged",
        actor_user=user,
        target_type="contact",
        target_id=target.id,
        details={"merge_id": merge.id, "source": source.id},
    )
    return merge


def do_undo_merge(session: Session, *, user: User, merge_id: int) -> ContactMerge:
    merge = session.get(ContactMerge, merge_id)
    if merge is None or merge.organization_id != user.organization_id:
        raise access.NotFound(f"merge {merge_id}")
    if merge.undone_at is not None:
        raise ActionError("this merge was already undone", status=409)
    if merge.source_contact_id is None or merge.target_contact_id is None:
        raise ActionError("a contact of this merge was deleted; it cannot be undone", status=409)
    session.execute(
        update(Identity)
        .where(Identity.id.in_(merge.identity_ids), Identity.contact_id == merge.target_contact_id)
        .values(contact_id=merge.source_contact_id)
    )
    session.execute(
        update(Conversation)
        .where(
            Conversation.id.in_(merge.conversation_ids), Conversation.contact_id == merge.target_contact_id
        )
        .values(contact_id=merge.source_contact_id)
    )
    merge.undone_at = utcnow()
    for conversation in session.scalars(
        select(Conversation).where(Conversation.id.in_(merge.conversation_ids))
    ):
        add_timeline(
            session,
            conversation=conversation,
            kind="contact_unmerged",
            summary=f"Merge of customer {merge.source_name!r} undone",
            actor_user=user,
            details={"merge_id": merge.id},
        )
    audit(session, action="contacts.unmerged", actor_user=user, target_type="merge", target_id=merge.id)
    return merge


def do_move_to_private(
    session: Session, *, user: User, conversation: Conversation, public_reply: str | None = None
) -> Conversation:
    """Continue a public comment privately with the same owner; both conversations link to each other."""
    if conversation.kind not in ("comment", "post"):
        raise ActionError("only a public comment can be moved to a private conversation", status=409)
    author = session.execute(
        select(Identity.external_id, Identity.platform)
        .join(Message, Message.author_identity_id == Identity.id)
        .where(Message.conversation_id == conversation.id, Message.direction == "in")
        .order_by(Message.created_at)
        .limit(1)
    ).first()
    if author is None:
        raise ActionError("this conversation has no customer to write to", status=409)
    if author[1] not in PRIVATE_PLATFORMS:
        raise ActionError(f"{author[1]} has no private messages", status=409)
    key = f"dm:{author[0]}"
    private = session.scalar(
        select(Conversation).where(
            Conversation.channel_id == conversation.channel_id, Conversation.thread_key == key
        )
    )
    now = utcnow()
    if private is None:
        private = Conversation(
            organization_id=conversation.organization_id,
            brand_id=conversation.brand_id,
            channel_id=conversation.channel_id,
            thread_key=key,
            kind="dm",
            contact_id=conversation.contact_id,
            team_id=conversation.team_id,
            assignee_id=conversation.assignee_id,
            status="open",
            subject=conversation.subject,
            preview=conversation.preview,
            message_count=0,
            first_message_at=now,
            first_message_inbound=False,
            last_message_at=now,
            created_at=now,
            updated_at=now,
            priority=conversation.priority,
            priority_rank=conversation.priority_rank,
            language=conversation.language,
        )
        session.add(private)
        session.flush()
        record_events(
            session,
            [
                ConversationCreated(
                    organization_id=private.organization_id,
                    brand_id=private.brand_id,
                    conversation_id=private.id,
                )
            ],
        )
    else:
        private.team_id, private.assignee_id = conversation.team_id, conversation.assignee_id
    public_state = workflow_state(session, conversation)
    private_state = workflow_state(session, private)
    public_state.linked_conversation_id = private.id
    private_state.linked_conversation_id = conversation.id
    private_state.routed_at = now  # routed already: by hand, to the public conversation's owner
    private_state.explanation = (
        f"Moved from public conversation {conversation.id} by {user.name}; same owner."
    )
    add_timeline(
        session,
        conversation=conversation,
        kind="moved_private",
        summary=f"Continued privately in conversation {private.id}",
        actor_user=user,
        details={"linked_conversation_id": private.id},
    )
    add_timeline(
        session,
        conversation=private,
        kind="moved_private",
        summary=f"Continued from public conversation {conversation.id}",
        actor_user=user,
        details={"linked_conversation_id": conversation.id},
    )
    if public_reply:
        do_reply(session, user=user, conversation=conversation, text=public_reply)
    audit(
        session,
        action="conversation.moved_private",
        actor_user=user,
        target_type="conversation",
        target_id=conversation.id,
        details={"private_conversation_id": private.id},
    )
    return private
