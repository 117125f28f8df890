"""Data-subject requests: export everything held about a person, and erase it everywhere.

Erasure runs in one transaction (SQLite: with ``PRAGMA secure_delete=ON`` so freed content is
overwritten with zeros), writes a ``privacy.erase`` audit row and a ``privacy_deletions`` record
with counts and our own ids only, and afterwards ``compact_after_erasure`` rewrites what could
still hold a copy: the FTS5 index is merged (``optimize``), the database is vacuumed and the WAL
truncated (SQLite), or the touched tables are vacuumed (PostgreSQL). Decisions (docs/privacy.md):
conversations that are only theirs go whole, brand replies included; in shared conversations their
messages go and the brand's replies to them are blanked; internal notes in shared conversations stay.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.db import Database
from tilsvar.jobs.queue import enqueue
from tilsvar.models import (
    Brand,
    Channel,
    Contact,
    Conversation,
    DomainEvent,
    EmailMessage,
    Identity,
    Job,
    Message,
    MessageAttachment,
    RawEvent,
    User,
)
from tilsvar.models.knowledge import FaqEvent, FaqProposal, TrendAlert, TrendCluster, TrendMember
from tilsvar.models.privacy import PrivacyDeletion
from tilsvar.models.workflow import ContactMerge, Notification
from tilsvar.privacy.export import build_export
from tilsvar.privacy.sealing import open_raw
from tilsvar.privacy.subject import Subject, find_subjects
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)
ERASED_REPLY = "[removed: a reply to a person whose data was erased]"
PUBLIC_KINDS = ("comment", "post")
# Tables whose pages may have held the person's data (PostgreSQL VACUUM after erasure).
TOUCHED_TABLES = (
    "messages",
    "conversations",
    "search_messages",
    "identities",
    "contacts",
    "raw_events",
    "domain_events",
    "jobs",
    "email_messages",
    "message_attachments",
    "trend_members",
    "trend_clusters",
    "faq_proposals",
    "notifications",
    "conversation_notes",
    "conversation_timeline",
    "csat_surveys",
)


def _organization_scope(actor_user: User | None) -> int | None:
    return actor_user.organization_id if actor_user is not None else None


def do_export_subject(
    session: Session, *, platform: str, author_id: str, actor_user: User | None = None, actor: str = ""
) -> dict[str, Any]:
    """Everything about the person (JSON-ready); audited. ``actor_user`` None: every organisation (CLI)."""
    subjects = find_subjects(
        session, platform=platform, author_id=author_id, organization_id=_organization_scope(actor_user)
    )
    document = build_export(session, subjects, platform=platform, author_id=author_id)
    targets: list[Subject | None] = list(subjects) or [None]
    for subject in targets:
        audit(
            session,
            action="privacy.export",
            actor_user=actor_user,
            actor=actor,
            organization_id=subject.organization_id if subject else _organization_scope(actor_user),
            target_type="contact",
            target_id=",".join(str(i) for i in subject.contact_ids) if subject else "",
            details={
                "platform": platform,
                "conversations": len(subject.conversation_ids) if subject else 0,
                "messages": len(subject.message_ids) if subject else 0,
            },
        )
    return document


@dataclass
class ErasureResult:
    """What one erasure removed: counts and our own ids (never the data)."""

    counts: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def add(self, name: str, count: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + max(count, 0)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _mentions(payload: Any, needles: Iterable[str]) -> bool:
    blob = json.dumps(payload, ensure_ascii=False, default=str)
    return any(needle in blob for needle in needles)


def do_erase_subject(
    session: Session,
    *,
    platform: str,
    author_id: str,
    actor_user: User | None = None,
    actor: str = "",
    delete_on_platform: bool = False,
) -> ErasureResult:
    """Erase the person everywhere in the database (see the module docstring); return what went.
    Call ``compact_after_erasure`` after the commit, then ``remove_files`` for their attachments."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))
    subjects = find_subjects(
        session, platform=platform, author_id=author_id, organization_id=_organization_scope(actor_user)
    )
    if not subjects:
        raise ActionError(f"nobody is known as {author_id!r} on {platform}", status=404)
    result = ErasureResult()
    for subject in subjects:
        if actor_user is not None:
            _check_brands(session, actor_user, subject)
        one = _erase_one(session, subject, delete_on_platform=delete_on_platform)
        session.add(
            PrivacyDeletion(
                organization_id=subject.organization_id,
                kind="erasure",
                actor=(actor or (actor_user.email if actor_user else "system"))[:200],
                counts=one.counts,
                ids=one.ids,
            )
        )
        audit(
            session,
            action="privacy.erase",
            actor_user=actor_user,
            actor=actor,
            organization_id=subject.organization_id,
            target_type="contact",
            target_id=",".join(str(i) for i in subject.contact_ids),
            details={"counts": one.counts, "delete_on_platform": delete_on_platform},
        )
        for name, count in one.counts.items():
            result.add(name, count)
        for name, values in one.ids.items():
            result.ids.setdefault(name, []).extend(values)
        result.files += one.files
    return result


def _check_brands(session: Session, user: User, subject: Subject) -> None:
    from tilsvar import access

    visible = set(access.brand_ids(session, user))
    brands = set(
        session.scalars(select(Conversation.brand_id).where(Conversation.id.in_(subject.conversation_ids)))
    )
    if not brands <= visible:
        raise access.Forbidden("this person also wrote to brands you may not see; ask an administrator")


def _erase_one(session: Session, subject: Subject, *, delete_on_platform: bool) -> ErasureResult:
    result = ErasureResult()
    own, shared = subject.own_conversation_ids, subject.shared_conversation_ids
    theirs = subject.message_ids
    # Every message that goes: theirs, and everything in conversations that are only theirs.
    doomed = sorted(
        set(theirs) | set(session.scalars(select(Message.id).where(Message.conversation_id.in_(own))))
    )
    external = {
        row[0]: row[1]
        for row in session.execute(
            select(Message.id, Message.external_id).where(
                Message.id.in_(theirs), Message.external_id.is_not(None)
            )
        )
    }
    if delete_on_platform:
        result.add("platform_delete_requested", _request_platform_delete(session, theirs))
    needles = [json.dumps(author) for author in subject.author_ids] + [
        json.dumps(value) for value in external.values()
    ]
    # Attachments: files on disk go unless another message still uses the same file.
    paths = set(
        session.scalars(
            select(MessageAttachment.storage_path).where(
                MessageAttachment.message_id.in_(doomed), MessageAttachment.storage_path != ""
            )
        )
    )
    still_used = set(
        session.scalars(
            select(MessageAttachment.storage_path).where(
                MessageAttachment.storage_path.in_(paths), MessageAttachment.message_id.not_in(doomed)
            )
        )
    )
    data_dir = get_settings().data_dir
    result.files = [data_dir / path for path in sorted(paths - still_used)]
    result.add("attachment_files", len(result.files))
    # Trend clusters their messages fed: forget the words they contributed.
    clusters = set(
        session.scalars(
            select(TrendMember.cluster_id).where(
                TrendMember.message_id.in_(doomed), TrendMember.cluster_id.is_not(None)
            )
        )
    )
    words = _words_of(session, doomed) if clusters else set()
    # Brand replies to them in shared conversations: keep that a reply was sent, drop its text.
    if shared and external:
        blanked = session.execute(
            update(Message)
            .where(
                Message.conversation_id.in_(shared),
                Message.direction == "out",
                Message.in_reply_to.in_(list(external.values())),
            )
            .values(text=ERASED_REPLY, redacted_text=None, text_sealed=None, analysis=None, has_pii=False)
        )
        result.add("brand_replies_blanked", _rowcount(blanked))
    # Jobs and domain events that mention them (payload ids or text).
    message_keys = {str(mid) for mid in doomed}
    conversation_keys = {str(cid) for cid in own}
    job_ids = [
        job_id
        for job_id, kind, payload in session.execute(
            select(Job.id, Job.kind, Job.payload).where(Job.status != "running")
        )
        if kind != PLATFORM_DELETE_JOB and _job_mentions(payload, message_keys, conversation_keys, needles)
    ]
    for chunk in _chunks(job_ids):
        result.add("jobs", _rowcount(session.execute(delete(Job).where(Job.id.in_(chunk)))))
    event_ids = [
        event_id
        for event_id, payload in session.execute(
            select(DomainEvent.id, DomainEvent.payload).where(
                or_(DomainEvent.conversation_id.in_(shared), DomainEvent.conversation_id.is_(None)),
                DomainEvent.organization_id == subject.organization_id,
            )
        )
        if _job_mentions(payload, message_keys, set(), needles)
    ]
    for chunk in _chunks(event_ids):
        result.add(
            "domain_events", _rowcount(session.execute(delete(DomainEvent).where(DomainEvent.id.in_(chunk))))
        )
    result.add(
        "notifications",
        _rowcount(session.execute(delete(Notification).where(Notification.conversation_id.in_(shared)))),
    )
    # Raw inbound payloads that carry their author id or one of their messages' platform ids.
    channels = list(
        session.scalars(
            select(Channel.id)
            .join(Brand, Brand.id == Channel.brand_id)
            .where(Brand.organization_id == subject.organization_id)
        )
    )
    # One pass over the payloads that could hold them (their channels, since a day before their first
    # message), matching every needle at once.
    first = session.scalar(select(func.min(Message.received_at)).where(Message.id.in_(theirs[:1000])))
    query = select(RawEvent.id, RawEvent.body).where(
        RawEvent.channel_id.in_(channels) | RawEvent.channel_id.is_(None)
    )
    if first is not None and len(theirs) <= 1000:
        query = query.where(RawEvent.received_at >= first - timedelta(days=1))
    pattern = re.compile(b"|".join(re.escape(needle.encode()) for needle in needles))
    raw_ids = {
        raw_id
        for raw_id, body in session.execute(query.execution_options(yield_per=1000))
        if body and pattern.search(open_raw(body))
    }
    for chunk in _chunks(sorted(raw_ids)):
        result.add("raw_events", _rowcount(session.execute(delete(RawEvent).where(RawEvent.id.in_(chunk)))))
    # FAQ: proposals built from their questions, widget events under their visitor id.
    erased_texts = _erased_texts(session, doomed)
    result.add(
        "faq_proposals_changed",
        _scrub_proposals(session, subject.organization_id, set(own) | set(shared), erased_texts),
    )
    result.add("faq_articles_changed", _scrub_articles(session, subject.organization_id, erased_texts))
    result.add(
        "faq_events",
        _rowcount(
            session.execute(
                delete(FaqEvent).where(
                    FaqEvent.organization_id == subject.organization_id,
                    FaqEvent.visitor.in_(subject.author_ids),
                )
            )
        ),
    )
    # Their alerts' sample message ids are set to NULL by the delete; the rows keep no text of theirs.
    session.execute(update(TrendAlert).where(TrendAlert.message_id.in_(doomed)).values(message_id=None))
    # The messages themselves: deleting them fires the search triggers (FTS5 'delete' / facet rows).
    for chunk in _chunks(doomed):
        result.add("messages", _rowcount(session.execute(delete(Message).where(Message.id.in_(chunk)))))
    result.add("trend_clusters_changed", _scrub_clusters(session, clusters, words))
    result.add(
        "conversations", _rowcount(session.execute(delete(Conversation).where(Conversation.id.in_(own))))
    )
    if shared:
        _refresh_shared(session, shared, subject.contact_ids)
    result.add(
        "contact_merges",
        _rowcount(
            session.execute(
                delete(ContactMerge).where(
                    or_(
                        ContactMerge.source_contact_id.in_(subject.contact_ids),
                        ContactMerge.target_contact_id.in_(subject.contact_ids),
                    )
                )
            )
        ),
    )
    result.add(
        "identities",
        _rowcount(session.execute(delete(Identity).where(Identity.id.in_(subject.identity_ids)))),
    )
    result.add(
        "contacts", _rowcount(session.execute(delete(Contact).where(Contact.id.in_(subject.contact_ids))))
    )
    result.ids = {
        "contacts": subject.contact_ids,
        "conversations": own,
        "shared_conversations": shared,
        "messages": doomed,
    }
    return result


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _job_mentions(
    payload: Any, message_keys: set[str], conversation_keys: set[str], needles: list[str]
) -> bool:
    if not isinstance(payload, dict):
        return False
    for key, value in payload.items():
        values = value if isinstance(value, list) else [value]
        if key in ("message_id", "message_ids", "answer_message_id") and any(
            str(v) in message_keys for v in values
        ):
            return True
        if key in ("conversation_id", "conversation_ids") and any(
            str(v) in conversation_keys for v in values
        ):
            return True
    return _mentions(payload, needles)


PLATFORM_DELETE_JOB = "privacy.platform_delete"


def _request_platform_delete(session: Session, message_ids: list[int]) -> int:
    """Queue a delete on the platform for each of their public comments and posts (only the channel
    and the platform's message id travel in the job, never text)."""
    from tilsvar.channels import moderator_for

    count = 0
    for message_id, external_id, kind, channel in session.execute(
        select(Message.id, Message.external_id, Message.kind, Channel)
        .join(Channel, Channel.id == Message.channel_id)
        .where(Message.id.in_(message_ids), Message.kind.in_(PUBLIC_KINDS), Message.external_id.is_not(None))
    ):
        del message_id, kind
        if moderator_for(channel.platform, channel.mode) is None:
            continue
        enqueue(
            session,
            queue="outbound",
            kind=PLATFORM_DELETE_JOB,
            payload={"channel_id": channel.id, "external_id": external_id},
        )
        count += 1
    return count


def _words_of(session: Session, message_ids: list[int]) -> set[str]:
    from tilsvar.trends.engine import vector

    words: set[str] = set()
    for chunk in _chunks(message_ids):
        for body, redacted in session.execute(
            select(Message.text, Message.redacted_text).where(
                Message.id.in_(chunk), Message.direction == "in"
            )
        ):
            for value in (body, redacted):
                if value:
                    weights, terms = vector(value)
                    words |= set(weights) | set(terms)
    return words


def _scrub_clusters(session: Session, cluster_ids: set[Any], words: set[str]) -> int:
    changed = 0
    for cluster in session.scalars(select(TrendCluster).where(TrendCluster.id.in_(cluster_ids))):
        remaining = session.scalar(
            select(func.count()).select_from(TrendMember).where(TrendMember.cluster_id == cluster.id)
        )
        if not remaining:
            session.delete(cluster)
        else:
            cluster.terms = {k: v for k, v in (cluster.terms or {}).items() if k not in words}
            cluster.centroid = {k: v for k, v in (cluster.centroid or {}).items() if k not in words}
            cluster.keywords = [k for k in (cluster.keywords or []) if k not in words]
            if any(word in cluster.label.split() for word in words) or cluster.label in words:
                cluster.label = " ".join(cluster.keywords[:3])
            cluster.size = int(remaining)
        changed += 1
    return changed


def _erased_texts(session: Session, doomed: list[int]) -> set[str]:
    """The customer texts of ``doomed`` messages as proposals and articles may hold them (≤ 500)."""
    texts: set[str] = set()
    for chunk in _chunks(doomed):
        for body, redacted in session.execute(
            select(Message.text, Message.redacted_text).where(
                Message.id.in_(chunk), Message.direction == "in"
            )
        ):
            texts |= {
                (redacted or body)[:500].strip(),
                body[:500].strip(),
                (redacted or body)[:500],
                body[:500],
            }
    return texts


def _scrub_articles(session: Session, organization_id: int, texts: set[str]) -> int:
    """FAQ articles accepted from a proposal hold customer questions as alternative questions: those
    of the erased messages go, and so do the changed articles' vectors (the ``faq.embed`` job computes
    the rest again). Returns how many articles changed."""
    from tilsvar.actions.faq_vectors import request_embeddings
    from tilsvar.faq.service import articles_changed
    from tilsvar.models import utcnow
    from tilsvar.models.knowledge import FaqArticle, FaqEmbedding

    if not texts:
        return 0
    changed: list[int] = []
    for article in session.scalars(select(FaqArticle).where(FaqArticle.organization_id == organization_id)):
        questions = [q for q in (article.questions or []) if q not in texts]
        if questions == list(article.questions or []) and article.title not in texts:
            continue
        article.questions = questions
        if article.title in texts:
            article.title = questions[0][:300] if questions else "(erased)"
        article.updated_at = utcnow()
        changed.append(article.id)
    if changed:
        session.execute(delete(FaqEmbedding).where(FaqEmbedding.article_id.in_(changed)))
        articles_changed(session, organization_id)
        request_embeddings(session, organization_id=organization_id)
    return len(changed)


def _scrub_proposals(
    session: Session, organization_id: int, conversation_ids: set[int], texts: set[str]
) -> int:
    """FAQ proposals hold customer questions of the conversations they were built from: an article
    proposal loses those of ``conversation_ids`` (and goes when none is left); a phrasing proposal
    (one customer's question) goes whole, whether open or decided, and its question joins ``texts``
    (so ``_scrub_articles`` takes it out of the article it was accepted into even when the message
    was edited since). The agents' insert events stop naming those conversations, so no later run
    proposes another message of them in its place."""
    changed = 0
    for chunk in _chunks(sorted(conversation_ids)):
        session.execute(
            update(FaqEvent)
            .where(FaqEvent.organization_id == organization_id, FaqEvent.conversation_id.in_(chunk))
            .values(conversation_id=None)
        )
    for proposal in session.scalars(
        select(FaqProposal).where(FaqProposal.organization_id == organization_id)
    ):
        ids = [int(cid) for cid in (proposal.conversation_ids or [])]
        if not set(ids) & conversation_ids:
            continue
        if proposal.kind == "phrasing":
            texts |= {str(question) for question in proposal.questions or []}
            session.delete(proposal)
            changed += 1
            continue
        proposal.questions = [q for q in (proposal.questions or []) if q not in texts]
        proposal.conversation_ids = [cid for cid in ids if cid not in conversation_ids]
        if ids and ids[0] in conversation_ids:
            proposal.answer = ""
        if proposal.title[:500] in texts:
            proposal.title = proposal.questions[0][:300] if proposal.questions else "(erased)"
        if not proposal.questions:
            session.delete(proposal)
        changed += 1
    return changed


def _refresh_shared(session: Session, conversation_ids: list[int], contact_ids: list[int]) -> None:
    """Shared conversations lost messages: recount and re-preview them; drop them when empty."""
    from tilsvar.actions.analysis import refresh_conversation_labels
    from tilsvar.actions.common import AGGREGATE_COLUMNS, MessageFact, aggregate_conversation

    for conversation in session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids))):
        rows = session.execute(
            select(
                Message.direction,
                Message.created_at,
                Message.is_automatic,
                Message.delivery_state,
                Message.redacted_text,
                Message.text,
            ).where(Message.conversation_id == conversation.id)
        ).all()
        if not rows:
            session.delete(conversation)
            continue
        values = aggregate_conversation(
            MessageFact(
                inbound=row[0] == "in",
                created_at=row[1],
                counts_as_answer=row[0] == "out" and not row[2] and row[3] in ("sent", "received"),
                text=row[4] or row[5] if row[0] == "in" else "",
            )
            for row in rows
        )
        for name in AGGREGATE_COLUMNS:
            setattr(conversation, name, values[name])
        if conversation.contact_id in contact_ids:
            conversation.contact_id = None
    session.flush()
    refresh_conversation_labels(session, conversation_ids=conversation_ids)


def compact_after_erasure(database: Database, *, vacuum: bool = True) -> dict[str, float]:
    """Rewrite what may still hold erased data; returns seconds per step.

    SQLite: merge the FTS5 index into one fresh segment (old segments, with the erased tokens, are
    freed and zeroed under secure_delete), VACUUM (optional: secure_delete already zeroes freed
    content), and checkpoint the WAL with TRUNCATE so no old page image stays in ``-wal``.
    PostgreSQL: VACUUM the touched tables (outside a transaction) so dead tuples are reclaimed."""

    return compact_engine(database.engine, vacuum=vacuum)


def compact_engine(engine: Any, *, vacuum: bool = True) -> dict[str, float]:
    """``compact_after_erasure`` on an engine (what an after-commit hook has)."""
    import time

    timings: dict[str, float] = {}
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA secure_delete=ON")
            started = time.perf_counter()
            connection.exec_driver_sql("INSERT INTO search_messages(search_messages) VALUES('optimize')")
            connection.commit()
            timings["fts_optimize"] = time.perf_counter() - started
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA secure_delete=ON")
            if vacuum:
                started = time.perf_counter()
                cursor.execute("VACUUM")
                timings["vacuum"] = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            timings["wal_checkpoint"] = time.perf_counter() - started
            cursor.close()
        finally:
            raw.close()
        return timings
    if vacuum:
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM " + ", ".join(TOUCHED_TABLES))
        timings["vacuum"] = time.perf_counter() - started
    return timings


def remove_files(paths: Iterable[Path]) -> int:
    """Delete erased attachment files (after the commit: a rolled-back erasure keeps them)."""
    removed = 0
    for path in paths:
        try:
            size = path.stat().st_size
            with path.open("r+b") as handle:  # overwrite before unlinking
                handle.write(b"\0" * size)
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as error:  # pragma: no cover - permissions
            log.warning("could not remove %s: %s", path, error)
    return removed


def erase_subject(
    database: Database,
    *,
    platform: str,
    author_id: str,
    actor_user: User | None = None,
    actor: str = "",
    delete_on_platform: bool = False,
    vacuum: bool = True,
) -> ErasureResult:
    """The whole erasure: the transaction, then files and compaction (used by CLI, API and web)."""
    with database.session() as session:
        result = do_erase_subject(
            session,
            platform=platform,
            author_id=author_id,
            actor_user=actor_user,
            actor=actor,
            delete_on_platform=delete_on_platform,
        )
    remove_files(result.files)
    compact_after_erasure(database, vacuum=vacuum)
    return result


def do_clean_up_after(
    session: Session,
    *,
    organization_id: int,
    message_ids: list[int],
    conversation_ids: list[int],
    author_ids: list[str] | None = None,
) -> ErasureResult:
    """What an erasure cleans beyond the rows themselves, for messages about to be deleted or
    anonymised by a retention run: their attachment files (returned in ``files``, to remove after
    the commit), trend memberships and the words they gave clusters, FAQ proposals built from them,
    trend alerts' sample ids, queued jobs and domain events naming them, notifications, and raw
    payloads carrying their platform ids (or ``author_ids``). Call before deleting the messages."""
    result = ErasureResult()
    if not message_ids:
        return result
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))
    external: list[str] = []
    first = last = None
    for chunk in _chunks(message_ids):
        for external_id, received_at in session.execute(
            select(Message.external_id, Message.received_at).where(Message.id.in_(chunk))
        ):
            if external_id:
                external.append(external_id)
            first = received_at if first is None or received_at < first else first
            last = received_at if last is None or received_at > last else last
    paths = set()
    for chunk in _chunks(message_ids):
        paths |= set(
            session.scalars(
                select(MessageAttachment.storage_path).where(
                    MessageAttachment.message_id.in_(chunk), MessageAttachment.storage_path != ""
                )
            )
        )
    doomed = set(message_ids)
    users = {
        path
        for path, message_id in session.execute(
            select(MessageAttachment.storage_path, MessageAttachment.message_id).where(
                MessageAttachment.storage_path.in_(paths)
            )
        )
        if message_id not in doomed
    }
    data_dir = get_settings().data_dir
    result.files = [data_dir / path for path in sorted(paths - users)]
    result.add("attachment_files", len(result.files))
    for chunk in _chunks(message_ids):
        result.add(
            "attachments",
            _rowcount(
                session.execute(delete(MessageAttachment).where(MessageAttachment.message_id.in_(chunk)))
            ),
        )
    for chunk in _chunks(message_ids):  # mail headers (addresses, subjects)
        result.add(
            "email_headers",
            _rowcount(session.execute(delete(EmailMessage).where(EmailMessage.message_id.in_(chunk)))),
        )
    # Trends: forget their memberships and the words they contributed.
    clusters: set[Any] = set()
    for chunk in _chunks(message_ids):
        clusters |= set(
            session.scalars(
                select(TrendMember.cluster_id).where(
                    TrendMember.message_id.in_(chunk), TrendMember.cluster_id.is_not(None)
                )
            )
        )
    words = _words_of(session, message_ids) if clusters else set()
    for chunk in _chunks(message_ids):
        session.execute(delete(TrendMember).where(TrendMember.message_id.in_(chunk)))
        session.execute(update(TrendAlert).where(TrendAlert.message_id.in_(chunk)).values(message_id=None))
    result.add("trend_clusters_changed", _scrub_clusters(session, clusters, words))
    erased_texts = _erased_texts(session, message_ids)
    result.add(
        "faq_proposals_changed",
        _scrub_proposals(session, organization_id, set(conversation_ids), erased_texts),
    )
    result.add("faq_articles_changed", _scrub_articles(session, organization_id, erased_texts))
    # Jobs, domain events and notifications that name them.
    needles = [json.dumps(value) for value in [*external, *(author_ids or [])]]
    message_keys = {str(mid) for mid in message_ids}
    conversation_keys = {str(cid) for cid in conversation_ids}
    job_ids = [
        job_id
        for job_id, payload in session.execute(select(Job.id, Job.payload).where(Job.status != "running"))
        if _job_mentions(payload, message_keys, conversation_keys, needles)
    ]
    for chunk in _chunks(job_ids):
        result.add("jobs", _rowcount(session.execute(delete(Job).where(Job.id.in_(chunk)))))
    event_ids = [
        event_id
        for event_id, payload in session.execute(
            select(DomainEvent.id, DomainEvent.payload).where(DomainEvent.organization_id == organization_id)
        )
        if _job_mentions(payload, message_keys, conversation_keys, needles)
    ]
    for chunk in _chunks(event_ids):
        result.add(
            "domain_events", _rowcount(session.execute(delete(DomainEvent).where(DomainEvent.id.in_(chunk))))
        )
    for chunk in _chunks(conversation_ids):
        result.add(
            "notifications",
            _rowcount(session.execute(delete(Notification).where(Notification.conversation_id.in_(chunk)))),
        )
    # Raw payloads carrying their platform ids, received around when they were.
    if needles and first is not None and last is not None:
        pattern = re.compile(b"|".join(re.escape(needle.encode()) for needle in needles))
        query = select(RawEvent.id, RawEvent.body).where(
            RawEvent.received_at >= first - timedelta(days=1),
            RawEvent.received_at <= last + timedelta(days=1),
        )
        raw_ids = sorted(
            raw_id
            for raw_id, body in session.execute(query.execution_options(yield_per=1000))
            if body and pattern.search(open_raw(body))
        )
        for chunk in _chunks(raw_ids):
            result.add(
                "raw_events", _rowcount(session.execute(delete(RawEvent).where(RawEvent.id.in_(chunk))))
            )
    return result


def after_commit_clean_up(session: Session, files: list[Path]) -> None:
    """Once the transaction is committed: overwrite and unlink the files, merge the FTS5 index and
    truncate the WAL (SQLite), so no copy of the deleted text stays in the data directory."""
    from tilsvar.db import on_commit

    engine = session.get_bind()

    def _run() -> None:
        remove_files(files)
        try:
            compact_engine(engine, vacuum=False)
        except Exception as error:  # pragma: no cover - a busy database: the next run compacts
            log.warning("compaction after retention failed: %s", error)

    on_commit(session, _run)
