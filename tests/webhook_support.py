"""Shared by the platform webhook tests: connect a live channel, read back what was stored, and find
the recorded payloads in ``../shared/platforms/recorded`` (absent outside the project workspace)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tilsvar.actions.org import do_create_channel
from tilsvar.db import Database
from tilsvar.models import Brand, Channel, Conversation, Job, Message, RawEvent

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "platforms" / "recorded"


def connect(
    database: Database,
    brand: Brand,
    *,
    platform: str,
    account: str,
    account_id: str,
    credentials: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> int:
    with database.session() as session:
        channel = do_create_channel(
            session,
            brand=session.get_one(Brand, brand.id),
            platform=platform,
            account=account,
            credentials=credentials,
            config={"account_id": account_id, **(config or {})},
        )
        return channel.id


def dumps(payload: Any) -> bytes:
    """Bytes like a platform sends: compact JSON with non-ASCII escaped (Meta's habit)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def raw_events(database: Database) -> list[RawEvent]:
    with database.reader() as session:
        return list(session.scalars(select(RawEvent).order_by(RawEvent.id)))


def messages(database: Database, channel_id: int) -> list[Message]:
    with database.reader() as session:
        return list(
            session.scalars(select(Message).where(Message.channel_id == channel_id).order_by(Message.id))
        )


def message(database: Database, channel_id: int, external_id: str) -> Message:
    with database.reader() as session:
        found = session.scalar(
            select(Message).where(Message.channel_id == channel_id, Message.external_id == external_id)
        )
        assert found is not None, f"no message {external_id}"
        return found


def conversation(database: Database, conversation_id: int) -> Conversation:
    with database.reader() as session:
        return session.get_one(Conversation, conversation_id)


def channel(database: Database, channel_id: int) -> Channel:
    with database.reader() as session:
        return session.get_one(Channel, channel_id)


def count_jobs(database: Database, kind: str) -> int:
    with database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind)) or 0)


def outbound_job(database: Database) -> Job:
    with database.reader() as session:
        job = session.scalar(select(Job).where(Job.kind == "outbound.send").order_by(Job.id.desc()))
        assert job is not None
        return job
