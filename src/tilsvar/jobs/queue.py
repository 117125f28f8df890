"""Enqueue, claim, finish and retry jobs stored in the ``jobs`` table.

Claiming takes rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers on any
number of machines share the queue without taking the same job; on SQLite the claim is one
``UPDATE`` inside a write transaction, which SQLite serialises. A claimed job carries a lease; a job
whose worker died mid-way is claimed again once its lease has expired (handlers are idempotent).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

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
    session: Session, *, worker_id: str, limit: int, queues: list[str] | None = None
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs (and jobs whose lease expired) for ``worker_id``."""
    now = utcnow()
    lease = timedelta(seconds=get_settings().job_lease_seconds)
    due = or_(
        (Job.status == "queued") & (Job.run_at <= now),
        (Job.status == "running") & (Job.locked_until < now),
    )
    query = select(Job.id).where(due).order_by(Job.run_at, Job.id).limit(limit)
    if queues:
        query = query.where(Job.queue.in_(queues))
    ids = list(session.scalars(query.with_for_update(skip_locked=True)))
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
