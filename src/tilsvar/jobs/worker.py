"""The worker loop: claim due jobs, run their handlers, record success, retry or death.

Handlers register per job kind with ``@handler("kind")``. A handler raises ``PermanentFailure`` for
work that can never succeed; any other exception is retried with backoff until the attempts run out.
Each handler must be idempotent: a job whose worker was killed mid-way runs again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from tilsvar.db import Database
from tilsvar.events import JobDead, record_events
from tilsvar.jobs import queue
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The job can never succeed; do not retry."""


@dataclass(frozen=True, slots=True)
class Handler:
    run: Callable[[Database, ClaimedJob], None]
    on_failure: Callable[[Database, ClaimedJob, str, bool], None] | None = None


HANDLERS: dict[str, Handler] = {}


def handler(
    kind: str, *, on_failure: Callable[[Database, ClaimedJob, str, bool], None] | None = None
) -> Callable[[Callable[[Database, ClaimedJob], None]], Callable[[Database, ClaimedJob], None]]:
    """Register the function that runs jobs of ``kind``; ``on_failure(db, job, error, dead)`` is told
    about each failed attempt (for example to show a reply's delivery state)."""

    def register(function: Callable[[Database, ClaimedJob], None]) -> Callable[[Database, ClaimedJob], None]:
        HANDLERS[kind] = Handler(run=function, on_failure=on_failure)
        return function

    return register


class Worker:
    def __init__(self, database: Database, *, worker_id: str | None = None, queues: list[str] | None = None):
        self.database = database
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.queues = queues
        self._last_prune = 0.0
        self._urgent_streak = 0  # urgent batches run in a row (queue.URGENT_STREAK caps it)

    def run_once(self, *, limit: int | None = None) -> int:
        """Claim and run one batch of due jobs; return how many ran."""
        from tilsvar.jobs import analytics, handlers  # noqa: F401  (registers the built-in handlers)

        with self.database.session() as session:
            jobs = queue.claim(
                session,
                worker_id=self.worker_id,
                limit=limit or get_settings().worker_batch_size,
                queues=self.queues,
                urgent_first=self._urgent_streak < queue.URGENT_STREAK,
            )
        if jobs and jobs[0].kind in queue.URGENT_KINDS:
            self._urgent_streak += 1
        else:
            self._urgent_streak = 0  # the others had their turn (or nothing was due)
        for job in jobs:
            self._run(job)
        return len(jobs)

    def run_until_idle(self, *, max_rounds: int = 1000) -> int:
        """Run jobs until none is due (tests, imports); return how many ran."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if not ran:
                break
        return total

    def run_forever(self, stop: threading.Event) -> None:
        from tilsvar.jobs.analytics import tick as analytics_tick
        from tilsvar.jobs.channel_jobs import tick as channel_tick
        from tilsvar.jobs.faq_handlers import tick as faq_tick
        from tilsvar.jobs.privacy_handlers import tick as retention_tick

        settings = get_settings()
        poll = settings.worker_poll_seconds
        if settings.pipeline_enabled and (self.queues is None or "pipeline" in self.queues):
            from tilsvar.pipeline import warm_up

            warm_up()
        log.info("worker %s started", self.worker_id)
        if self.queues is None or "inbound" in self.queues:
            from tilsvar.jobs.email_watch import start_mail_watcher

            start_mail_watcher(self.database, stop)  # IMAP IDLE: wakes e-mail syncs when mail arrives
        while not stop.is_set():
            try:
                ran = self.run_once()
                self._maybe_prune()
                analytics_tick(self.database)  # KPI rollups and due weekly reports
                retention_tick(self.database)  # retention policies, daily
                channel_tick(self.database)  # quiet-webhook checks and YouTube polls stay scheduled
                faq_tick(self.database)  # FAQ vectors missing since an upgrade; daily proposal runs
            except Exception:
                log.exception("worker loop failed; retrying")
                ran = 0
                stop.wait(min(5.0, poll * 4))
            if not ran:
                queue.wakeup.wait(poll)
                queue.wakeup.clear()
        log.info("worker %s stopped", self.worker_id)

    def _run(self, job: ClaimedJob) -> None:
        registered = HANDLERS.get(job.kind)
        try:
            if registered is None:
                raise PermanentFailure(f"no handler for job kind {job.kind!r}")
            registered.run(self.database, job)
        except Exception as error:
            retryable = not isinstance(error, PermanentFailure)
            message = str(error) if isinstance(error, PermanentFailure) else _describe(error)
            with self.database.session() as session:
                dead = queue.fail(
                    session, job=job, worker_id=self.worker_id, error=message, retryable=retryable
                )
                if dead:
                    record_events(session, [JobDead(job_id=job.id, kind=job.kind, error=message[:500])])
            log.warning("job %s (%s) failed%s: %s", job.id, job.kind, " for good" if dead else "", message)
            if registered is not None and registered.on_failure is not None:
                registered.on_failure(self.database, job, str(error), dead)
            return
        with self.database.session() as session:
            queue.complete(session, job_id=job.id, worker_id=self.worker_id)

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < 3600:
            return
        self._last_prune = time.monotonic()
        with self.database.session() as session:
            queue.prune_finished(session)


def _describe(error: Exception) -> str:
    lines = traceback.format_exception(error)
    return f"{type(error).__name__}: {error}\n" + "".join(lines[-6:])
