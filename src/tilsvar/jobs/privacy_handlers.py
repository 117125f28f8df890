"""Privacy jobs: the daily retention run (``privacy.retention``) and asking a platform to delete an
erased person's public comment (``privacy.platform_delete``; only the channel and the platform's
message id travel in the job)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from tilsvar.actions.org import channel_credentials
from tilsvar.actions.retention import do_run_policy, due_policies
from tilsvar.channels import DeliveryError, ModerationRequest, moderator_for
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob, enqueue
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Channel, Job

log = logging.getLogger(__name__)
RETENTION_JOB = "privacy.retention"


@handler(RETENTION_JOB)
def run_retention(database: Database, job: ClaimedJob) -> None:
    """Apply every enabled policy that has not run for a day, each in its own transaction."""
    del job
    with database.reader() as session:
        policy_ids = [policy.id for policy in due_policies(session)]
    for policy_id in policy_ids:
        with database.session() as session:
            policy = next((p for p in due_policies(session) if p.id == policy_id), None)
            if policy is not None:
                do_run_policy(session, policy=policy)


@handler("privacy.platform_delete")
def platform_delete(database: Database, job: ClaimedJob) -> None:
    with database.reader() as session:
        channel = session.get(Channel, int(job.payload["channel_id"]))
        if channel is None:
            raise PermanentFailure("the channel no longer exists")
        moderator = moderator_for(channel.platform, channel.mode)
        if moderator is None:
            raise PermanentFailure(f"{channel.platform} does not let Tilsvar delete messages")
        request = ModerationRequest(
            platform=channel.platform,
            account=channel.account,
            external_id=str(job.payload["external_id"]),
            action="delete",
            credentials=channel_credentials(channel),
            config=dict(channel.config or {}),
        )
    try:
        moderator.moderate(request)
    except DeliveryError as error:
        if error.retryable:
            raise
        raise PermanentFailure(error.reason) from error


def tick(database: Database) -> None:
    """Queue the retention run when a policy is due and no run is queued (called by the worker)."""
    with database.reader() as session:
        if not due_policies(session):
            return
        queued = session.scalar(
            select(Job.id).where(Job.kind == RETENTION_JOB, Job.status.in_(("queued", "running"))).limit(1)
        )
    if queued is None:
        with database.session() as session:
            enqueue(session, queue="maintenance", kind=RETENTION_JOB, payload={})
