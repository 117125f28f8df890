"""The chorus detector's job: after the pipeline stored its analysis, feed those messages to the
detector (``actions.trends``). Its own queue, so a burst of imports never holds up replies.

A run loads the brand's recent clusters and members whatever the number of messages it observes, so
one job takes up to ``TAKE_ALONG`` other queued observation jobs with it (a pipeline job of 25
messages enqueues one each); bounded, because the run holds the write lock while it observes."""

from __future__ import annotations

from tilsvar.actions.trends import do_observe_messages
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob, take_queued
from tilsvar.jobs.worker import handler

# Other queued observation jobs one run takes along.
TAKE_ALONG = 7


@handler("trends.observe")
def observe_messages(database: Database, job: ClaimedJob) -> None:
    message_ids = [int(value) for value in job.payload.get("message_ids", [])]
    with database.session() as session:
        for payload in take_queued(session, kind="trends.observe", limit=TAKE_ALONG):
            message_ids += [int(value) for value in payload.get("message_ids", [])]
        do_observe_messages(session, message_ids=message_ids)
