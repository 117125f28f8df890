"""Social listening: create and change monitors, record what a poll found (advancing the
``since_id`` cursor and pacing by the platform's rate limit), and turn a mention into a
conversation for proactive outreach (or dismiss it). Every change is audited; the inbox hears of a
converted mention through the normal ingest path (``message.received``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import InboundMessage
from tilsvar.channels.base import Author
from tilsvar.channels.x.search import SOURCE, FoundPost
from tilsvar.models import Brand, Channel, Message, User, utcnow
from tilsvar.models.listening import Mention, Monitor

SOURCES = {SOURCE: "x"}  # listening source → the platform whose channel it searches with
MIN_POLL_SECONDS = 60
MAX_QUERY = 512  # X recent search accepts queries up to 512 characters (Basic/Pro access)


def _check(*, name: str, query: str, poll_seconds: int) -> None:
    if not name.strip():
        raise ActionError("a monitor needs a name")
    if not query.strip() or len(query) > MAX_QUERY:
        raise ActionError(f"a monitor needs a query of 1–{MAX_QUERY} characters")
    if poll_seconds < MIN_POLL_SECONDS:
        raise ActionError(f"poll at most every {MIN_POLL_SECONDS} seconds")


def do_create_monitor(
    session: Session,
    *,
    actor: User,
    channel_id: int,
    name: str,
    query: str,
    source: str = SOURCE,
    poll_seconds: int = 300,
) -> Monitor:
    """A monitor polling ``source`` for ``query`` with the credentials of channel ``channel_id``."""
    access.require(actor, "workflow")
    if source not in SOURCES:
        raise ActionError(f"unknown listening source {source!r}")
    channel = session.get(Channel, channel_id)
    if channel is None or channel.brand_id not in access.brand_ids(session, actor):
        raise access.NotFound(f"channel {channel_id}")
    if channel.platform != SOURCES[source]:
        raise ActionError(f"{source} searches with an {SOURCES[source]} channel, not {channel.platform}")
    _check(name=name, query=query, poll_seconds=poll_seconds)
    monitor = Monitor(
        brand_id=channel.brand_id,
        channel_id=channel.id,
        name=name.strip()[:200],
        source=source,
        query=query.strip(),
        poll_seconds=poll_seconds,
        next_poll_at=utcnow(),
    )
    session.add(monitor)
    session.flush()
    audit(
        session,
        action="listening.monitor_created",
        actor_user=actor,
        target_type="monitor",
        target_id=monitor.id,
        details={"name": monitor.name, "query": monitor.query, "channel_id": channel.id},
    )
    return monitor


def do_update_monitor(
    session: Session,
    *,
    actor: User,
    monitor_id: int,
    active: bool | None = None,
    query: str | None = None,
    name: str | None = None,
    poll_seconds: int | None = None,
) -> Monitor:
    """Pause/resume a monitor or change its query (a new query starts from now: cursor reset)."""
    access.require(actor, "workflow")
    monitor = access.access_monitor(session, actor, monitor_id)
    _check(
        name=monitor.name if name is None else name,
        query=monitor.query if query is None else query,
        poll_seconds=monitor.poll_seconds if poll_seconds is None else poll_seconds,
    )
    changed: dict[str, object] = {}
    if name is not None and name.strip() != monitor.name:
        monitor.name = changed["name"] = name.strip()[:200]
    if query is not None and query.strip() != monitor.query:
        monitor.query = changed["query"] = query.strip()
        monitor.since_id = ""
    if poll_seconds is not None and poll_seconds != monitor.poll_seconds:
        monitor.poll_seconds = changed["poll_seconds"] = poll_seconds
    if active is not None and active != monitor.active:
        monitor.active = changed["active"] = active
        if active:
            monitor.next_poll_at = utcnow()
    if changed:
        audit(
            session,
            action="listening.monitor_changed",
            actor_user=actor,
            target_type="monitor",
            target_id=monitor.id,
            details=changed,
        )
    return monitor


def due_monitors(session: Session, *, now: datetime | None = None) -> list[Monitor]:
    """Active monitors whose next poll is due."""
    moment = now or utcnow()
    return list(
        session.scalars(
            select(Monitor)
            .where(Monitor.active.is_(True), Monitor.next_poll_at <= moment)
            .order_by(Monitor.next_poll_at, Monitor.id)
        )
    )


def do_record_poll(
    session: Session,
    *,
    monitor_id: int,
    posts: Sequence[FoundPost],
    newest_id: str,
    next_poll_at: datetime,
    error: str = "",
) -> list[int]:
    """Keep the posts a poll found (each once per brand and source), advance the cursor, schedule the
    next poll. Returns the new mentions' ids."""
    monitor = session.get(Monitor, monitor_id)
    if monitor is None:
        return []
    now = utcnow()
    known = set(
        session.scalars(
            select(Mention.external_id).where(
                Mention.brand_id == monitor.brand_id,
                Mention.source == monitor.source,
                Mention.external_id.in_([post.id for post in posts]),
            )
        )
    )
    new: list[Mention] = []
    # Oldest first, so a newer post gets a larger id (the stream lists by id, newest first).
    for post in sorted(posts, key=lambda found: (found.created_at, found.id.zfill(32))):
        if post.id in known:
            continue
        known.add(post.id)
        new.append(
            Mention(
                brand_id=monitor.brand_id,
                monitor_id=monitor.id,
                source=monitor.source,
                external_id=post.id,
                thread_id=post.conversation_id,
                author_id=post.author_id,
                author_handle=post.author_handle[:200],
                author_name=post.author_name[:200],
                text=post.text,
                url=post.url[:500],
                lang=post.lang[:16],
                posted_at=post.created_at,
                found_at=now,
            )
        )
    session.add_all(new)
    if newest_id and (not monitor.since_id or _later(newest_id, monitor.since_id)):
        monitor.since_id = newest_id
    monitor.last_poll_at = now
    monitor.next_poll_at = next_poll_at
    monitor.last_error = error[:2000]
    session.flush()
    return [mention.id for mention in new]


def _later(one: str, other: str) -> bool:
    """X ids are snowflakes: a later post has a larger number."""
    if one.isdigit() and other.isdigit():
        return int(one) > int(other)
    return one > other


def mention_poll_delay(monitor: Monitor, *, remaining: int | None, reset_at: datetime | None) -> timedelta:
    """When to poll next: the monitor's interval, or the rate-limit reset when the window is spent."""
    delay = timedelta(seconds=monitor.poll_seconds)
    if remaining is not None and remaining <= 0 and reset_at is not None:
        delay = max(delay, reset_at - utcnow())
    return delay


def do_convert_mention(session: Session, *, actor: User, mention_id: int) -> int:
    """Turn a mention into a conversation of its monitor's channel (the post becomes the customer's
    first message, threaded by the post's reply chain, so a reply answers it on the platform).
    Returns the conversation id; converting twice returns the same conversation."""
    access.require(actor, "reply")
    mention = access.access_mention(session, actor, mention_id)
    if mention.status == "converted" and mention.conversation_id is not None:
        return mention.conversation_id
    monitor = session.get_one(Monitor, mention.monitor_id)
    channel = session.get_one(Channel, monitor.channel_id)
    brand = session.get_one(Brand, channel.brand_id)
    inbound = InboundMessage(
        platform=channel.platform,
        account=channel.account,
        external_id=mention.external_id,
        direction="in",
        kind="mention",
        text=mention.text,
        created_at=mention.posted_at,
        author=Author(id=mention.author_id, handle=mention.author_handle, name=mention.author_name),
        thread_id=mention.thread_id or mention.external_id,
        extra={"listening": {"monitor_id": monitor.id, "url": mention.url}},
    )
    do_ingest_messages(session, messages=[inbound], organization_id=brand.organization_id, actor=actor.email)
    conversation_id = session.scalar(
        select(Message.conversation_id).where(
            Message.channel_id == channel.id, Message.external_id == mention.external_id
        )
    )
    if conversation_id is None:  # pragma: no cover - ingest stores or finds it
        raise ActionError("the mention could not be stored as a message")
    mention.status = "converted"
    mention.conversation_id = conversation_id
    mention.handled_by_user_id = actor.id
    audit(
        session,
        action="listening.mention_converted",
        actor_user=actor,
        target_type="mention",
        target_id=mention.id,
        details={"conversation_id": conversation_id},
    )
    return int(conversation_id)


def do_dismiss_mention(session: Session, *, actor: User, mention_id: int) -> Mention:
    """Leave a mention alone (it stays listed under "dismissed")."""
    access.require(actor, "reply")
    mention = access.access_mention(session, actor, mention_id)
    if mention.status == "converted":
        raise ActionError("this mention is already a conversation")
    if mention.status != "dismissed":
        mention.status = "dismissed"
        mention.handled_by_user_id = actor.id
        audit(
            session,
            action="listening.mention_dismissed",
            actor_user=actor,
            target_type="mention",
            target_id=mention.id,
        )
    return mention
