"""The tamper-evident audit trail: every ``audit_log`` row carries the hash of the row before it and
a hash over its own canonical content, so editing or deleting any row breaks the chain from there on
and ``tilsvar audit verify`` names the first broken row.

Appending is serialised so two writers never fork the chain: SQLite write transactions already hold
the database's one write lock from their start (``BEGIN IMMEDIATE``); on PostgreSQL the appender
takes a transaction-level advisory lock, held until commit, before reading the chain head.

The chain proves the order and content of the rows it links; deleting rows at the *end* leaves a
shorter valid chain, which is why ``verify`` prints the head (last id and hash) for keeping
elsewhere and accepts ``--expect-head`` to compare with a head recorded earlier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, select, text
from sqlalchemy.orm import Session

from tilsvar.db import Prepared, bulk_insert
from tilsvar.models import AuditEntry, utcnow
from tilsvar.models.base import table_of

GENESIS = "0" * 64
# An arbitrary constant naming the audit chain's advisory lock on PostgreSQL.
ADVISORY_LOCK_KEY = 0x7417_5A12_0A0D_17


def canonical(
    *,
    at: datetime,
    organization_id: int | None,
    actor_user_id: int | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any] | None,
) -> bytes:
    """The bytes a row's hash covers: its content as sorted, compact JSON (the time in UTC with
    microseconds, as both databases keep it)."""
    return json.dumps(
        {
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "organization_id": organization_id,
            "actor_user_id": actor_user_id,
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": details or {},
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def row_hash(prev_hash: str, entry: AuditEntry) -> str:
    content = canonical(
        at=entry.at,
        organization_id=entry.organization_id,
        actor_user_id=entry.actor_user_id,
        actor=entry.actor,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        details=entry.details,
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def lock_chain(session: Session) -> None:
    """Hold the chain until this transaction ends (PostgreSQL; SQLite writers are serialised)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


HEAD = select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)
PREPARED_HEAD = Prepared(HEAD)


def append_row(
    session: Session,
    *,
    organization_id: int | None,
    actor_user_id: int | None,
    actor: str,
    action: str,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """``append`` for a row written with one Core insert instead of an ORM object (paths that run per
    message, where the ORM's flush cost more than the rest of the row's work)."""
    lock_chain(session)
    session.flush()  # earlier entries still pending in the session are the head, as in ``append``
    rows = PREPARED_HEAD.execute(session.connection())
    head = rows[0][0] if rows else None
    values: dict[str, Any] = {
        "at": utcnow(),
        "organization_id": organization_id,
        "actor_user_id": actor_user_id,
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details or {},
        "prev_hash": head or GENESIS,
    }
    content = canonical(**{name: value for name, value in values.items() if name != "prev_hash"})
    values["row_hash"] = hashlib.sha256(values["prev_hash"].encode() + b"\n" + content).hexdigest()
    bulk_insert(session, table_of(AuditEntry), [values])


def append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Link ``entry`` to the chain head and add it to the session."""
    lock_chain(session)
    # Autoflush puts this transaction's earlier rows in place first, so they are the head.
    head = session.scalar(HEAD)
    if entry.at is None:
        entry.at = utcnow()
    entry.target_type = entry.target_type or ""
    entry.target_id = entry.target_id or ""
    entry.details = entry.details or {}
    entry.prev_hash = head or GENESIS
    entry.row_hash = row_hash(entry.prev_hash, entry)
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    head_id: int | None
    head_hash: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def iter_entries(session: Session, *, batch: int = 2000) -> Iterator[AuditEntry]:
    """Every row in chain order, a batch at a time (the table may be large)."""
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify(session: Session) -> Verification:
    """Walk the chain from the first row; stop at the first row whose link or content is wrong."""
    expected_prev = GENESIS
    checked = 0
    head_id: int | None = None
    for entry in iter_entries(session):
        if entry.prev_hash != expected_prev:
            return Verification(
                checked,
                head_id,
                expected_prev,
                broken_id=entry.id,
                problem="the row before it was deleted or changed (its link does not match)",
            )
        if entry.row_hash != row_hash(entry.prev_hash, entry):
            return Verification(
                checked, head_id, expected_prev, broken_id=entry.id, problem="its content was changed"
            )
        expected_prev = entry.row_hash
        head_id = entry.id
        checked += 1
    return Verification(checked, head_id, expected_prev)


def export_line(entry: AuditEntry) -> dict[str, Any]:
    """One row as JSON (for ``tilsvar audit export``, the API and the audit page)."""
    return {
        "id": entry.id,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "organization_id": entry.organization_id,
        "actor_user_id": entry.actor_user_id,
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "row_hash": entry.row_hash,
    }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit page and API narrow the trail by (all optional)."""

    action: str = ""
    actor: str = ""
    target_type: str = ""
    target_id: str = ""
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None


def search_entries(
    session: Session,
    *,
    organization_id: int,
    filters: AuditFilter,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """An organisation's audit rows, newest first, narrowed by ``filters``; page with ``before_id``.
    ``action`` matches a prefix (``auth.`` finds every sign-in row); ``text`` looks in actor, action,
    target and details."""
    query = select(AuditEntry).where(AuditEntry.organization_id == organization_id)
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        query = query.where(AuditEntry.actor.icontains(filters.actor, autoescape=True))
    if filters.target_type:
        query = query.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    if filters.text:
        needle = filters.text
        query = query.where(
            AuditEntry.actor.icontains(needle, autoescape=True)
            | AuditEntry.action.icontains(needle, autoescape=True)
            | AuditEntry.target_id.icontains(needle, autoescape=True)
            | cast(AuditEntry.details, String).icontains(needle, autoescape=True)
        )
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
