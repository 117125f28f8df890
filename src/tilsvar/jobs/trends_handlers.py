"""The chorus detector's job: after the pipeline stored its analysis, feed those messages to the
detector (``actions.trends``). Its own queue, so a burst of imports never holds up replies."""

from __future__ import annotations

from tilsvar.actions.trends import do_observe_messages
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import handler


@handler("trends.observe")
def observe_messages(database: Database, job: ClaimedJob) -> None:
    message_ids = [int(value) for value in job.payload.get("message_ids", [])]
    with database.session() as session:
        do_observe_messages(session, message_ids=message_ids)
