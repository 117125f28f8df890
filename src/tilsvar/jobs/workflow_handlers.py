"""Workflow jobs: route the conversations of a large import batch, re-evaluate SLA clocks when a
warning or breach can begin, wake snoozed conversations. All are idempotent (routing keeps an owned
conversation with its owner; an SLA warning is announced once however often the check runs)."""

from __future__ import annotations

from tilsvar.actions.routing import do_route_conversations
from tilsvar.actions.sla import do_check_sla
from tilsvar.actions.workflow import do_end_snooze
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import handler


@handler("workflow.route")
def route(database: Database, job: ClaimedJob) -> None:
    """Route conversations a large ingest batch (an import) stored without routing them inline."""
    with database.session() as session:
        do_route_conversations(session, conversation_ids=[int(i) for i in job.payload["conversation_ids"]])


@handler("sla.check")
def check_sla(database: Database, job: ClaimedJob) -> None:
    with database.session() as session:
        do_check_sla(session, conversation_id=int(job.payload["conversation_id"]))


@handler("workflow.snooze_end")
def end_snooze(database: Database, job: ClaimedJob) -> None:
    with database.session() as session:
        do_end_snooze(session, conversation_id=int(job.payload["conversation_id"]))
