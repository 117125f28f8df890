"""Scheduled workflow jobs: re-evaluate SLA clocks when a warning or breach can begin, wake snoozed
conversations. Both are idempotent (an SLA warning is announced once however often the check runs)."""

from __future__ import annotations

from tilsvar.actions.sla import do_check_sla
from tilsvar.actions.workflow import do_end_snooze
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import handler


@handler("sla.check")
def check_sla(database: Database, job: ClaimedJob) -> None:
    with database.session() as session:
        do_check_sla(session, conversation_id=int(job.payload["conversation_id"]))


@handler("workflow.snooze_end")
def end_snooze(database: Database, job: ClaimedJob) -> None:
    with database.session() as session:
        do_end_snooze(session, conversation_id=int(job.payload["conversation_id"]))
