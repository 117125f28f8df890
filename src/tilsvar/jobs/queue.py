"""Enqueue, claim, finish and retry jobs stored in the ``jobs`` table.

Claiming takes rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers on any
number of machines share the queue without taking the same job; on SQLite the claim is one
``UPDATE`` inside a write transaction, which SQLite serialises. A claimed job carries a lease; a job
whose worker died mid-way is claimed again once its lease has expired (handlers are idempotent).

**Priority.** Storing new deliveries (``URGENT_KINDS``: ``webhook.process``, which takes every queued
delivery along into one ingest) makes a message visible in the inbox; everything else (analysis,
routing, rollups) can follow. So a claim asks first for due urgent jobs and only when there are none
for the rest (two cheap queries, both on the ``(status, run_at)`` index), instead of one run_at order
in which a burst of deliveries waited behind the analysis backlog of the previous burst. To keep the
rest from starving while deliveries keep arriving, the worker asks the other way round (the rest
first) after ``URGENT_STREAK`` urgent batches in a row (``Worker.run_once``). Other jobs are claimed
``OTHER_BATCH`` at a time: one pipeline job analyses and routes up to ``ANALYZE_JOB_SIZE`` messages
(actions/ingest.py), and a batch of twenty of them kept new deliveries waiting for seconds. Urgent
jobs are claimed ``URGENT_BATCH`` (one) at a time, since each takes the other queued deliveries along.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tilsvar.db import on_commit
from tilsvar.models import Job, utcnow
from tilsvar.settings import get_settings


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    queue: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


# Job kinds a worker claims before any other due job (see the module docstring).
URGENT_KINDS: tuple[str, ...] = ("webhook.process",)
# Urgent batches a worker runs in a row before it gives the other jobs one batch.
URGENT_STREAK = 4
# Urgent jobs claimed at a time: one ``webhook.process`` job takes every queued delivery along (up to
# 100) into one ingest, so claiming more would only split that batch into smaller transactions.
URGENT_BATCH = 1
# Other jobs claimed at a time (each is run before the next claim looks for urgent jobs again).
OTHER_BATCH = 1


# Set when this process commits a new job, so an in-process worker starts at once instead of polling.
wakeup = threading.Event()


def enqueue(
    session: Session,
    *,
    queue: str,
    kind: str,
    payload: dict[str, Any],
    run_at: datetime | None = None,
    max_attempts: int | None = None,
) -> Job:
    """Add a job in the caller's transaction; it becomes visible to workers when that commits."""
    job = Job(
        queue=queue,
        kind=kind,
        payload=payload,
        status="queued",
        run_at=run_at or utcnow(),
        max_attempts=max_attempts or get_settings().job_max_attempts,
    )
    session.add(job)
    on_commit(session, wakeup.set)
    return job


def claim(
    session: Session,
    *,
    worker_id: str,
    limit: int,
    queues: list[str] | None = None,
    urgent_first: bool = True,
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs (and jobs whose lease expired) for ``worker_id``: due
    ``URGENT_KINDS`` jobs first and (up to ``OTHER_BATCH``) others only when there are none, or, with
    ``urgent_first=False``, the other way round (so that neither class waits forever)."""
    now = utcnow()
    lease = timedelta(seconds=get_settings().job_lease_seconds)
    urgent = Job.kind.in_(URGENT_KINDS)
    ids: list[int] = []
    for wanted in (urgent, ~urgent) if urgent_first else (~urgent, urgent):
        size = min(limit, URGENT_BATCH if wanted is urgent else OTHER_BATCH)
        ids = _due_ids(session, now=now, limit=size, queues=queues, wanted=wanted)
        if ids:
            break
    if not ids:
        return []
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(
            status="running",
            locked_by=worker_id,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .returning(Job.id, Job.queue, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
    )
    claimed = [ClaimedJob(*row) for row in rows]
    claimed.sort(key=lambda job: ids.index(job.id))
    return claimed


def _due_ids(
    session: Session, *, now: datetime, limit: int, queues: list[str] | None, wanted: ColumnElement[bool]
) -> list[int]:
    """Ids of due jobs matching ``wanted``, oldest first, locked against other workers."""
    due = or_(
        (Job.status == "queued") & (Job.run_at <= now),
        (Job.status == "running") & (Job.locked_until < now),
    )
    query = select(Job.id).where(due, wanted).order_by(Job.run_at, Job.id).limit(limit)
    if queues:
        query = query.where(Job.queue.in_(queues))
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def take_queued(session: Session, *, kind: str, limit: int) -> list[dict[str, Any]]:
    """The payloads of up to ``limit`` due, queued jobs of ``kind`` (oldest first), marked done in the
    caller's transaction: a handler whose work costs much per run and little per item takes its
    queued siblings along into one run. If the transaction rolls back they stay queued; a job another
    worker claimed meanwhile is not taken."""
    if limit <= 0:
        return []
    query = (
        select(Job.id)
        .where(Job.status == "queued", Job.kind == kind, Job.run_at <= utcnow())
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    )
    ids = list(session.scalars(query.with_for_update(skip_locked=True)))
    if not ids:
        return []
    taken = session.execute(
        update(Job)
        .where(Job.id.in_(ids), Job.status == "queued")
        .values(status="done", finished_at=utcnow(), last_error="")
        .returning(Job.payload)
    ).scalars()
    return [dict(payload or {}) for payload in taken]


def complete(session: Session, *, job_id: int, worker_id: str) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(status="done", finished_at=utcnow(), locked_until=None, last_error="")
    )


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±25 % jitter, capped (attempts counts the failed tries so far)."""
    settings = get_settings()
    delay = min(
        settings.job_backoff_base_seconds * (2 ** max(attempts - 1, 0)), settings.job_backoff_max_seconds
    )
    return float(delay * random.uniform(0.75, 1.25))


def fail(session: Session, *, job: ClaimedJob, worker_id: str, error: str, retryable: bool = True) -> bool:
    """Record a failed attempt; schedule a retry or mark the job dead. Returns True when dead."""
    dead = not retryable or job.attempts >= job.max_attempts
    values: dict[str, Any] = {"last_error": error[:4000], "locked_until": None}
    if dead:
        values.update(status="dead", finished_at=utcnow())
    else:
        values.update(status="queued", run_at=utcnow() + timedelta(seconds=backoff_seconds(job.attempts)))
    session.execute(update(Job).where(Job.id == job.id, Job.locked_by == worker_id).values(**values))
    return dead


def requeue_dead(session: Session, *, job_id: int) -> bool:
    """Put a dead job back in the queue with a fresh set of attempts."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "dead")
        .values(status="queued", attempts=0, run_at=utcnow(), finished_at=None, locked_by="")
    )
    if result.rowcount:  # type: ignore[attr-defined]
        on_commit(session, wakeup.set)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prune_finished(session: Session) -> int:
    """Delete finished jobs older than the retention (dead jobs stay until re-run or deleted)."""
    cutoff = utcnow() - timedelta(hours=get_settings().job_retention_hours)
    result = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
