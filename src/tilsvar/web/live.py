"""Live updates: a server-sent event stream of the domain events a signed-in user may see.

Each stream reads the ``domain_events`` log after its own position, so it sees events written by any
process (worker, import, another web node); this process's commits wake it at once via the event hub,
and it checks the log every ``events_poll_seconds`` regardless.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy import func, select

from tilsvar import access
from tilsvar.db import Database
from tilsvar.events import hub, parse_event
from tilsvar.models import DomainEvent, User

PING_SECONDS = 15.0
BATCH = 200


def _latest_id(database: Database) -> int:
    with database.reader() as session:
        return int(session.scalar(select(func.coalesce(func.max(DomainEvent.id), 0))) or 0)


def _read(database: Database, user: User, after: int) -> tuple[list[dict[str, Any]], int]:
    """Events after ``after`` that ``user`` may see, and the log position they bring the reader to."""
    with database.reader() as session:
        upper = int(session.scalar(select(func.coalesce(func.max(DomainEvent.id), 0))) or 0)
        brand_ids = access.brand_ids(session, user)
        rows = list(
            session.scalars(
                select(DomainEvent)
                .where(DomainEvent.id > after, DomainEvent.id <= upper, DomainEvent.brand_id.in_(brand_ids))
                .order_by(DomainEvent.id)
                .limit(BATCH)
            )
        )
        if len(rows) == BATCH:
            upper = rows[-1].id
        return [parse_event(row) for row in rows], max(upper, after)


async def event_stream(
    request: Request, database: Database, user: User, poll_seconds: float
) -> AsyncIterator[dict[str, str]]:
    position = await anyio.to_thread.run_sync(_latest_id, database)
    generation = hub.generation
    idle = 0.0
    while not await request.is_disconnected():
        events, position = await anyio.to_thread.run_sync(_read, database, user, position)
        for event in events:
            yield {"event": event["type"], "id": str(event["id"]), "data": json.dumps(event)}
        if len(events) == BATCH:
            continue
        waited = 0.0
        while waited < poll_seconds and hub.generation == generation:
            await asyncio.sleep(0.1)
            waited += 0.1
        generation = hub.generation
        idle += waited
        if idle >= PING_SECONDS:
            idle = 0.0
            yield {"comment": "ping"}
