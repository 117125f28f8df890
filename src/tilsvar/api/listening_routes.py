"""``/api/v1/listening``: monitors (keyword queries polled on a source such as X recent search) and
the stream of mentions they found, with conversion into a conversation (proactive outreach) and
dismissal. Thin: reads here, every change through ``actions/listening.py``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.listening import (
    do_convert_mention,
    do_create_monitor,
    do_dismiss_mention,
    do_update_monitor,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models import User
from tilsvar.models.listening import Mention, Monitor

router = APIRouter(prefix="/api/v1/listening", tags=["listening"])
PAGE = 100


def monitor_json(monitor: Monitor) -> dict[str, Any]:
    return {
        "id": monitor.id,
        "brand_id": monitor.brand_id,
        "channel_id": monitor.channel_id,
        "name": monitor.name,
        "source": monitor.source,
        "query": monitor.query,
        "active": monitor.active,
        "poll_seconds": monitor.poll_seconds,
        "since_id": monitor.since_id,
        "last_poll_at": monitor.last_poll_at.isoformat() if monitor.last_poll_at else None,
        "next_poll_at": monitor.next_poll_at.isoformat() if monitor.next_poll_at else None,
        "last_error": monitor.last_error,
    }


def mention_json(mention: Mention) -> dict[str, Any]:
    return {
        "id": mention.id,
        "monitor_id": mention.monitor_id,
        "brand_id": mention.brand_id,
        "source": mention.source,
        "external_id": mention.external_id,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "text": mention.text,
        "url": mention.url,
        "lang": mention.lang,
        "posted_at": mention.posted_at.isoformat(),
        "found_at": mention.found_at.isoformat(),
        "status": mention.status,
        "conversation_id": mention.conversation_id,
    }


def list_monitors(session: Session, user: User) -> list[Monitor]:
    return list(
        session.scalars(
            select(Monitor).where(Monitor.brand_id.in_(access.brand_ids(session, user))).order_by(Monitor.id)
        )
    )


def list_mentions(
    session: Session,
    user: User,
    *,
    status: str | None = "new",
    monitor_id: int | None = None,
    before: int | None = None,
) -> list[Mention]:
    """Newest first, in brands ``user`` may see; keyset paging by id (``before``)."""
    query = select(Mention).where(Mention.brand_id.in_(access.brand_ids(session, user)))
    if status:
        query = query.where(Mention.status == status)
    if monitor_id is not None:
        query = query.where(Mention.monitor_id == monitor_id)
    if before is not None:
        query = query.where(Mention.id < before)
    return list(session.scalars(query.order_by(Mention.id.desc()).limit(PAGE)))


class MonitorIn(BaseModel):
    channel_id: int
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(
        min_length=1, max_length=512, description="X search syntax, e.g. `nordicrail -is:retweet`"
    )
    source: Literal["x_recent_search"] = "x_recent_search"
    poll_seconds: int = Field(default=300, ge=60, le=86400)


class MonitorChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, min_length=1, max_length=512)
    active: bool | None = None
    poll_seconds: int | None = Field(default=None, ge=60, le=86400)


@router.get("/monitors", summary="Listening monitors")
def monitors(user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return {"items": [monitor_json(monitor) for monitor in list_monitors(session, user)]}


@router.post("/monitors", status_code=201, summary="Create a listening monitor")
def create_monitor(body: MonitorIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        monitor = do_create_monitor(
            session,
            actor=user,
            channel_id=body.channel_id,
            name=body.name,
            query=body.query,
            source=body.source,
            poll_seconds=body.poll_seconds,
        )
        return monitor_json(monitor)


@router.patch("/monitors/{monitor_id}", summary="Pause, resume or change a monitor")
def change_monitor(
    monitor_id: int, body: MonitorChange, user: ApiUser, database: DatabaseDep
) -> dict[str, Any]:
    with database.session() as session:
        monitor = do_update_monitor(
            session,
            actor=user,
            monitor_id=monitor_id,
            name=body.name,
            query=body.query,
            active=body.active,
            poll_seconds=body.poll_seconds,
        )
        return monitor_json(monitor)


@router.get("/mentions", summary="The listening stream: mentions found by monitors, newest first")
def mentions(
    user: ApiUser,
    session: ReadSession,
    status: Literal["new", "converted", "dismissed", "all"] = "new",
    monitor_id: int | None = None,
    before: int | None = None,
) -> dict[str, Any]:
    access.require(user, "read")
    rows = list_mentions(
        session, user, status=None if status == "all" else status, monitor_id=monitor_id, before=before
    )
    return {
        "items": [mention_json(mention) for mention in rows],
        "next_before": rows[-1].id if len(rows) == PAGE else None,
    }


@router.post("/mentions/{mention_id}/convert", summary="Turn a mention into a conversation")
def convert_mention(mention_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        conversation_id = do_convert_mention(session, actor=user, mention_id=mention_id)
    return {"mention_id": mention_id, "conversation_id": conversation_id}


@router.post("/mentions/{mention_id}/dismiss", summary="Dismiss a mention")
def dismiss_mention(mention_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        return mention_json(do_dismiss_mention(session, actor=user, mention_id=mention_id))
