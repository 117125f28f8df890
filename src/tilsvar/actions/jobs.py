"""Operator actions on the job queue."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tilsvar.actions.common import audit
from tilsvar.jobs import queue
from tilsvar.models import User


def do_retry_job(session: Session, *, job_id: int, actor_user: User | None) -> bool:
    """Put a dead job back in the queue; False when there is no dead job with that id."""
    if not queue.requeue_dead(session, job_id=job_id):
        return False
    audit(
        session,
        action="job.retried",
        actor_user=actor_user,
        actor="" if actor_user else "cli",
        target_type="job",
        target_id=job_id,
    )
    return True
