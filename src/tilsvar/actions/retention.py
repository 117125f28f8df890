"""Retention: policies that delete or anonymise conversations some days after resolution, or
contacts inactive that long, per brand, channel and conversation kind; legal holds exempt a
conversation or contact; every run is recorded (counts and our own ids, never the data) and
audited. ``tilsvar.jobs.privacy_handlers`` runs the enabled policies daily (docs/privacy.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, String, cast, delete, func, literal, select, update
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.privacy import after_commit_clean_up, do_clean_up_after
from tilsvar.models import Channel, Contact, Conversation, Identity, Message, User, utcnow
from tilsvar.models.privacy import LegalHold, PrivacyDeletion, RetentionPolicy

TARGETS = ("conversations", "contacts")
ACTIONS = ("delete", "anonymise")
ANONYMISED = "[anonymised]"
SAMPLE = 20


def do_create_policy(session: Session, *, user: User, fields: dict[str, Any]) -> RetentionPolicy:
    access.require(user, "privacy")
    target, action, days = fields.get("target"), fields.get("action", "delete"), fields.get("days")
    if target not in TARGETS:
        raise ActionError(f"target must be one of {', '.join(TARGETS)}")
    if action not in ACTIONS:
        raise ActionError(f"action must be one of {', '.join(ACTIONS)}")
    if not isinstance(days, int) or days < 1:
        raise ActionError("days must be a whole number of at least 1")
    brand_id, channel_id = fields.get("brand_id"), fields.get("channel_id")
    visible = access.brand_ids(session, user)
    if brand_id is not None and brand_id not in visible:
        raise access.NotFound(f"brand {brand_id}")
    if channel_id is not None:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.brand_id not in visible:
            raise access.NotFound(f"channel {channel_id}")
    policy = RetentionPolicy(
        organization_id=user.organization_id,
        name=str(fields.get("name") or f"{action} {target} after {days} days")[:200],
        target=target,
        action=action,
        days=days,
        brand_id=brand_id,
        channel_id=channel_id,
        conversation_kind=fields.get("conversation_kind"),
        enabled=bool(fields.get("enabled", True)),
    )
    session.add(policy)
    session.flush()
    audit(
        session,
        action="retention.policy_create",
        actor_user=user,
        target_type="retention_policy",
        target_id=policy.id,
        details={
            k: fields.get(k)
            for k in ("target", "action", "days", "brand_id", "channel_id", "conversation_kind")
        },
    )
    return policy


def access_policy(session: Session, user: User, policy_id: int) -> RetentionPolicy:
    access.require(user, "privacy")
    policy = session.get(RetentionPolicy, policy_id)
    if policy is None or policy.organization_id != user.organization_id:
        raise access.NotFound(f"retention policy {policy_id}")
    return policy


def do_delete_policy(session: Session, *, user: User, policy: RetentionPolicy) -> None:
    audit(
        session,
        action="retention.policy_delete",
        actor_user=user,
        target_type="retention_policy",
        target_id=policy.id,
    )
    session.delete(policy)


def do_set_legal_hold(
    session: Session,
    *,
    user: User,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    reason: str,
) -> LegalHold:
    """Exempt a conversation or a contact (and all their conversations) from retention."""
    access.require(user, "privacy")
    if (conversation_id is None) == (contact_id is None):
        raise ActionError("give either a conversation or a contact")
    if conversation_id is not None:
        access.access_conversation(session, user, conversation_id)
    else:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.organization_id != user.organization_id:
            raise access.NotFound(f"contact {contact_id}")
    hold = LegalHold(
        organization_id=user.organization_id,
        conversation_id=conversation_id,
        contact_id=contact_id,
        reason=reason.strip()[:500],
        created_by_user_id=user.id,
    )
    session.add(hold)
    session.flush()
    audit(
        session,
        action="retention.hold",
        actor_user=user,
        target_type="conversation" if conversation_id else "contact",
        target_id=conversation_id or contact_id or "",
        details={"hold_id": hold.id, "reason": hold.reason},
    )
    return hold


def do_release_legal_hold(session: Session, *, user: User, hold_id: int) -> None:
    access.require(user, "privacy")
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.organization_id != user.organization_id or hold.released_at is not None:
        raise access.NotFound(f"legal hold {hold_id}")
    hold.released_at = utcnow()
    audit(
        session, action="retention.hold_release", actor_user=user, target_type="legal_hold", target_id=hold.id
    )


def _held_conversations() -> Select[int]:
    held_contacts = select(LegalHold.contact_id).where(
        LegalHold.released_at.is_(None), LegalHold.contact_id.is_not(None)
    )
    return select(Conversation.id).where(
        Conversation.id.in_(
            select(LegalHold.conversation_id).where(
                LegalHold.released_at.is_(None), LegalHold.conversation_id.is_not(None)
            )
        )
        | Conversation.contact_id.in_(held_contacts)
    )


def candidates(session: Session, policy: RetentionPolicy, *, now: datetime | None = None) -> Select[int]:
    """The ids the policy applies to now (conversation ids, or contact ids), legal holds excluded."""
    cutoff = (now or utcnow()) - timedelta(days=policy.days)
    if policy.target == "conversations":
        query = select(Conversation.id).where(
            Conversation.organization_id == policy.organization_id,
            Conversation.status.in_(("resolved", "closed")),
            Conversation.resolved_at.is_not(None),
            Conversation.resolved_at < cutoff,
            Conversation.id.not_in(_held_conversations()),
        )
        if policy.brand_id is not None:
            query = query.where(Conversation.brand_id == policy.brand_id)
        if policy.channel_id is not None:
            query = query.where(Conversation.channel_id == policy.channel_id)
        if policy.conversation_kind:
            query = query.where(Conversation.kind == policy.conversation_kind)
        if policy.action == "anonymise":
            query = query.where(Conversation.contact_id.is_not(None) | (Conversation.preview != ANONYMISED))
        return query.order_by(Conversation.id)
    # Contacts: no conversation newer than the cutoff, not held, not anonymised already.
    active = select(Conversation.contact_id).where(
        Conversation.contact_id.is_not(None), Conversation.last_message_at >= cutoff
    )
    held = select(LegalHold.contact_id).where(
        LegalHold.released_at.is_(None), LegalHold.contact_id.is_not(None)
    )
    query = select(Contact.id).where(
        Contact.organization_id == policy.organization_id,
        Contact.created_at < cutoff,
        Contact.id.not_in(active),
        Contact.id.not_in(held),
        Contact.id.not_in(select(Conversation.contact_id).where(Conversation.id.in_(_held_conversations()))),
    )
    if policy.brand_id is not None or policy.channel_id is not None:
        scoped = select(Conversation.contact_id)
        if policy.brand_id is not None:
            scoped = scoped.where(Conversation.brand_id == policy.brand_id)
        if policy.channel_id is not None:
            scoped = scoped.where(Conversation.channel_id == policy.channel_id)
        query = query.where(Contact.id.in_(scoped))
    if policy.action == "anonymise":
        query = query.where(Contact.display_name != ANONYMISED)
    return query.order_by(Contact.id)


@dataclass
class Preview:
    count: int
    sample_ids: list[int]


def preview(session: Session, policy: RetentionPolicy, *, now: datetime | None = None) -> Preview:
    query = candidates(session, policy, now=now)
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return Preview(count=int(count), sample_ids=list(session.scalars(query.limit(SAMPLE))))


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def do_run_policy(
    session: Session, *, policy: RetentionPolicy, actor_user: User | None = None, now: datetime | None = None
) -> PrivacyDeletion:
    """Apply the policy now; record and audit what it did."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy import text

        session.execute(text("PRAGMA secure_delete=ON"))
    ids = list(session.scalars(candidates(session, policy, now=now)))
    counts: dict[str, int] = {}
    cleaned: dict[str, int] = {}
    files: list[Path] = []

    def clean_up(conversation_ids: list[int], author_ids: list[str] | None = None) -> None:
        """The erasure's clean-up beyond the rows (tilsvar.actions.privacy.do_clean_up_after)."""
        message_ids = list(
            session.scalars(select(Message.id).where(Message.conversation_id.in_(conversation_ids)))
        )
        done = do_clean_up_after(
            session,
            organization_id=policy.organization_id,
            message_ids=message_ids,
            conversation_ids=conversation_ids,
            author_ids=author_ids,
        )
        files.extend(done.files)
        for name, count in done.counts.items():
            cleaned[name] = cleaned.get(name, 0) + count

    if policy.target == "conversations":
        for chunk in _chunks(ids):
            clean_up(chunk)
            if policy.action == "delete":
                counts["messages"] = counts.get("messages", 0) + int(
                    session.execute(delete(Message).where(Message.conversation_id.in_(chunk))).rowcount or 0  # type: ignore[attr-defined]
                )
                session.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
            else:
                _anonymise_conversations(session, chunk)
        counts["conversations"] = len(ids)
    else:
        for chunk in _chunks(ids):
            conversations = list(
                session.scalars(select(Conversation.id).where(Conversation.contact_id.in_(chunk)))
            )
            authors = [
                sealed_id or external_id
                for external_id, sealed_id in session.execute(
                    select(Identity.external_id, Identity.external_id_sealed).where(
                        Identity.contact_id.in_(chunk)
                    )
                )
            ]
            for part in _chunks(conversations):
                clean_up(part, authors)
            if policy.action == "delete":
                for part in _chunks(conversations):
                    session.execute(delete(Message).where(Message.conversation_id.in_(part)))
                    session.execute(delete(Conversation).where(Conversation.id.in_(part)))
                session.execute(delete(Identity).where(Identity.contact_id.in_(chunk)))
                session.execute(delete(Contact).where(Contact.id.in_(chunk)))
            else:
                for part in _chunks(conversations):
                    _anonymise_conversations(session, part)
                session.execute(
                    update(Identity)
                    .where(Identity.contact_id.in_(chunk))
                    .values(
                        handle="",
                        name="",
                        external_id=literal("anonymised-") + cast(Identity.id, String),
                        external_id_sealed=None,
                    )
                )
                session.execute(update(Contact).where(Contact.id.in_(chunk)).values(display_name=ANONYMISED))
            counts["conversations"] = counts.get("conversations", 0) + len(conversations)
        counts["contacts"] = len(ids)
    policy.last_run_at = utcnow()
    record = PrivacyDeletion(
        organization_id=policy.organization_id,
        kind="retention",
        policy_id=policy.id,
        actor=actor_user.email if actor_user else "retention",
        counts=counts,
        ids={policy.target: ids[:10_000]},
    )
    session.add(record)
    session.flush()
    audit(
        session,
        action=f"retention.{policy.action}",
        actor_user=actor_user,
        actor="" if actor_user else "retention",
        organization_id=policy.organization_id,
        target_type="retention_policy",
        target_id=policy.id,
        details={"counts": counts, "cleaned_up": cleaned, "record_id": record.id},
    )
    after_commit_clean_up(session, files)
    return record


def _anonymise_conversations(session: Session, conversation_ids: list[int]) -> None:
    """Keep the conversation (for figures) but not who wrote or what: texts, names and analysis go."""
    session.execute(
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids))
        .values(
            text=ANONYMISED,
            redacted_text=None,
            text_sealed=None,
            has_pii=False,
            analysis=None,
            author_name="",
            author_identity_id=None,
        )
    )
    session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .values(contact_id=None, preview=ANONYMISED, subject="")
    )


def due_policies(session: Session, *, now: datetime | None = None) -> list[RetentionPolicy]:
    """Enabled policies not run in the last day."""
    since = (now or utcnow()) - timedelta(days=1)
    return list(
        session.scalars(
            select(RetentionPolicy)
            .where(
                RetentionPolicy.enabled.is_(True),
                RetentionPolicy.last_run_at.is_(None) | (RetentionPolicy.last_run_at < since),
            )
            .order_by(RetentionPolicy.id)
        )
    )
