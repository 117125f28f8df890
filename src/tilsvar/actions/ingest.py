"""Store inbound traffic: the one path every message takes, live (webhook, API, poller) or imported.

``do_ingest_messages`` takes a batch of normalized messages and, in the caller's one transaction:
finds their channels, drops duplicates (same channel + platform id), links authors to contacts,
threads each message into its conversation, keeps the conversation's timestamps right, records the
domain events and enqueues the understanding pipeline. A live webhook passes a batch of one; an import
passes thousands, and every step is a handful of set-based statements per batch, not per message.

Threading: a reply joins its parent's conversation. A reply whose parent has not arrived yet starts a
conversation keyed by the missing parent's id; when the parent arrives it joins (or adopts) that
conversation, so delivery order never splits a thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from tilsvar.actions.common import (
    AGGREGATE_COLUMNS,
    MessageFact,
    aggregate_conversation,
    apply_messages,
    audit,
)
from tilsvar.channels import InboundMessage, normalize_account
from tilsvar.channels.context import comment_context
from tilsvar.db import insert_returning_ids
from tilsvar.events import ConversationCreated, Event, MessageReceived, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Brand, Channel, Contact, Conversation, Identity, Message, RawEvent, utcnow
from tilsvar.models.base import table_of
from tilsvar.privacy import blind
from tilsvar.privacy.sealing import seal_inbound, seal_raw
from tilsvar.settings import get_settings

UnknownChannelPolicy = Literal["reject", "create"]
IdentityMap = dict[tuple[int, str, str | None], tuple[int, int]]
REOPENING_STATUSES = frozenset({"resolved", "closed", "pending", "snoozed"})


# Batches touching more conversations than this route them in a ``workflow.route`` job.
ROUTE_INLINE_UP_TO = 50
ROUTE_JOB_SIZE = 500
# Messages per ``pipeline.analyze`` job: the worker stores new deliveries between jobs (jobs/queue.py),
# so a job this size (analysis + routing, a few hundred ms) is the longest a delivery waits behind one.
ANALYZE_JOB_SIZE = 25


@dataclass(slots=True)
class IngestResult:
    """What happened to each message of a batch (indexes refer to the input sequence)."""

    stored: list[int] = field(default_factory=list)  # message ids, in input order of the stored ones
    stored_indexes: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    conversations_created: int = 0


@dataclass(slots=True, eq=False)
class _Thread:
    """A conversation being assembled in this batch: an existing row, or one to insert."""

    channel: Channel
    key: str
    row: Conversation | None = None
    new_messages: list[tuple[int, InboundMessage]] = field(default_factory=list)
    absorbed_rows: list[Conversation] = field(default_factory=list)
    inserted_id: int | None = None  # set when this batch created the conversation

    @property
    def conversation_id(self) -> int:
        if self.inserted_id is not None:
            return self.inserted_id
        assert self.row is not None
        return self.row.id


def do_ingest_messages(
    session: Session,
    *,
    messages: Sequence[InboundMessage],
    unknown_channels: UnknownChannelPolicy = "reject",
    organization_id: int | None = None,
    new_channel_brand_id: int | None = None,
    enqueue_pipeline: bool = True,
    route: bool = True,
    actor: str = "ingest",
) -> IngestResult:
    """Store a batch of inbound messages; see the module docstring.

    ``unknown_channels="create"`` creates a channel for an unknown (platform, account) in
    ``new_channel_brand_id``, or in a new brand named after the account of ``organization_id``.
    ``route=False`` (imported history) stores without routing, now or after the pipeline.
    """
    result = IngestResult()
    channels = _resolve_channels(
        session,
        messages=messages,
        policy=unknown_channels,
        organization_id=organization_id,
        brand_id=new_channel_brand_id,
    )
    accepted = _drop_duplicates(session, messages=messages, channels=channels, result=result)
    if not accepted:
        return result
    # Personal data is redacted from the stored text and the original sealed before any row is written.
    accepted, sealed = seal_inbound(accepted)
    accepted.sort(key=lambda pair: pair[1].created_at)
    org_of_channel = _organizations(session, channels=channels)
    identities = _link_identities(
        session, accepted=accepted, channels=channels, org_of_channel=org_of_channel
    )
    threads = _thread(session, accepted=accepted, channels=channels)
    now = utcnow()
    events: list[Event] = []

    # Conversations to insert, then messages.
    new_threads = [thread for thread in threads if thread.row is None]
    if new_threads:
        rows = []
        for thread in new_threads:
            _, first = min(thread.new_messages, key=lambda pair: pair[1].created_at)
            contact_id = _first_contact(thread, identities, org_of_channel[thread.channel.id])
            values = aggregate_conversation(_facts(message for _, message in thread.new_messages))
            rows.append(
                {
                    "organization_id": org_of_channel[thread.channel.id],
                    "brand_id": thread.channel.brand_id,
                    "channel_id": thread.channel.id,
                    "thread_key": thread.key,
                    "kind": first.kind,
                    "contact_id": contact_id,
                    "team_id": thread.channel.team_id,
                    "status": "new" if values["first_response_at"] is None else "open",
                    "subject": str(first.extra.get("subject", ""))[:300],
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
            )
        table = table_of(Conversation)
        inserted = insert_returning_ids(session, table, rows)
        for thread, conversation_id in zip(new_threads, inserted, strict=True):
            thread.inserted_id = conversation_id
            events.append(
                ConversationCreated(
                    organization_id=org_of_channel[thread.channel.id],
                    brand_id=thread.channel.brand_id,
                    conversation_id=conversation_id,
                )
            )
        result.conversations_created = len(new_threads)

    message_rows: list[dict[str, Any]] = []
    order: list[int] = []
    for thread in threads:
        for index, message in thread.new_messages:
            identity = identities.get(
                (org_of_channel[thread.channel.id], message.platform, _author_id(message))
            )
            message_rows.append(
                {
                    "conversation_id": thread.conversation_id,
                    "channel_id": thread.channel.id,
                    "external_id": message.external_id,
                    "in_reply_to": message.in_reply_to,
                    "direction": message.direction,
                    "kind": message.kind,
                    "author_identity_id": identity[0] if identity and message.direction == "in" else None,
                    "author_name": _author_name(message, thread.channel),
                    "text": message.text,
                    "text_sealed": sealed.get(index),
                    "has_pii": index in sealed,
                    "redacted_text": message.text if index in sealed else None,
                    "created_at": message.created_at,
                    "received_at": now,
                    "is_automatic": message.is_automatic,
                    "delivery_state": "received" if message.direction == "in" else "sent",
                    "context": comment_context(message.platform, message.extra)
                    if message.kind == "comment"
                    else None,
                }
            )
            order.append(index)
    message_ids = list(insert_returning_ids(session, table_of(Message), message_rows))
    id_by_index = dict(zip(order, message_ids, strict=True))
    result.stored_indexes = sorted(id_by_index)
    result.stored = [id_by_index[index] for index in result.stored_indexes]

    _update_existing_conversations(
        session,
        threads=[thread for thread in threads if thread.inserted_id is None],
        identities=identities,
        org_of_channel=org_of_channel,
        now=now,
    )

    for thread in threads:
        for index, message in thread.new_messages:
            events.append(
                # Values straight from the database and parsed messages: no validation per message.
                MessageReceived.model_construct(
                    organization_id=org_of_channel[thread.channel.id],
                    brand_id=thread.channel.brand_id,
                    conversation_id=thread.conversation_id,
                    message_id=id_by_index[index],
                    direction=message.direction,
                    platform=message.platform,
                )
            )
    record_events(session, events, occurred_at=now)
    inbound_ids = [id_by_index[index] for index, message in accepted if message.direction == "in"]
    if enqueue_pipeline and inbound_ids:
        for start in range(0, len(inbound_ids), ANALYZE_JOB_SIZE):
            payload: dict[str, Any] = {"message_ids": inbound_ids[start : start + ANALYZE_JOB_SIZE]}
            if not route:
                payload["route"] = False
            enqueue(session, queue="pipeline", kind="pipeline.analyze", payload=payload)
    # Routing runs when the pipeline has labelled the messages; without a pipeline, route now — or,
    # for a large batch (an import), in the worker, so storing stays fast (the channel's team queue
    # holds the conversations meanwhile).
    from tilsvar.actions.routing import do_route_conversations

    analysed_later = enqueue_pipeline and get_settings().pipeline_enabled
    to_route = [
        thread.conversation_id
        for thread in threads
        if any(m.direction == "out" or not analysed_later for _, m in thread.new_messages)
    ]
    if not route:
        to_route = []  # imported history: no agent assignments or SLA clocks for past conversations
    if len(to_route) <= ROUTE_INLINE_UP_TO:
        do_route_conversations(session, conversation_ids=to_route)
    else:
        for start in range(0, len(to_route), ROUTE_JOB_SIZE):
            chunk = to_route[start : start + ROUTE_JOB_SIZE]
            enqueue(session, queue="pipeline", kind="workflow.route", payload={"conversation_ids": chunk})
    audit(
        session,
        action="messages.ingested",
        actor=actor,
        organization_id=next(iter(org_of_channel.values()), None),
        details={
            "stored": len(result.stored),
            "duplicates": len(result.duplicates),
            "rejected": len(result.rejected),
            "conversations_created": result.conversations_created,
        },
    )
    return result


def _resolve_channels(
    session: Session,
    *,
    messages: Sequence[InboundMessage],
    policy: UnknownChannelPolicy,
    organization_id: int | None,
    brand_id: int | None,
) -> dict[tuple[str, str], Channel]:
    keys = {(message.platform, normalize_account(message.platform, message.account)) for message in messages}
    found: dict[tuple[str, str], Channel] = {}
    by_platform: dict[str, set[str]] = defaultdict(set)
    for platform, account_key in keys:
        by_platform[platform].add(account_key)
    for platform, account_keys in by_platform.items():
        rows = session.scalars(
            select(Channel).where(Channel.platform == platform, Channel.account_key.in_(account_keys))
        )
        for channel in rows:
            found[(channel.platform, channel.account_key)] = channel
    if policy == "create":
        for message in messages:
            key = (message.platform, normalize_account(message.platform, message.account))
            if key not in found:
                found[key] = _create_channel(
                    session,
                    platform=message.platform,
                    account=message.account,
                    organization_id=organization_id,
                    brand_id=brand_id,
                )
    return found


def _create_channel(
    session: Session, *, platform: str, account: str, organization_id: int | None, brand_id: int | None
) -> Channel:
    account = account.lstrip("@") if platform in {"x", "instagram"} else account
    if brand_id is None:
        if organization_id is None:
            raise ValueError("creating channels needs an organization or a brand")
        slug = normalize_account(platform, account)[:64]
        brand = session.scalar(
            select(Brand).where(Brand.organization_id == organization_id, Brand.slug == slug)
        )
        if brand is None:
            brand = Brand(organization_id=organization_id, slug=slug, name=account)
            session.add(brand)
            session.flush()
        brand_id = brand.id
    channel = Channel(
        brand_id=brand_id,
        platform=platform,
        account=account,
        account_key=normalize_account(platform, account),
        name=f"{platform}: {account}",
        mode="live",
        config={},
    )
    session.add(channel)
    session.flush()
    audit(
        session,
        action="channel.created",
        actor="import",
        organization_id=organization_id,
        target_type="channel",
        target_id=channel.id,
        details={"platform": platform, "account": account, "reason": "unknown account in imported data"},
    )
    return channel


def _drop_duplicates(
    session: Session,
    *,
    messages: Sequence[InboundMessage],
    channels: dict[tuple[str, str], Channel],
    result: IngestResult,
) -> list[tuple[int, InboundMessage]]:
    wanted: dict[int, list[tuple[int, InboundMessage]]] = defaultdict(list)
    for index, message in enumerate(messages):
        channel = channels.get((message.platform, normalize_account(message.platform, message.account)))
        if channel is None:
            result.rejected.append((index, f"unknown channel {message.platform}:{message.account}"))
            continue
        wanted[channel.id].append((index, message))
    accepted: list[tuple[int, InboundMessage]] = []
    for channel_id, pairs in wanted.items():
        external_ids = {message.external_id for _, message in pairs}
        existing = set(
            session.scalars(
                select(Message.external_id).where(
                    Message.channel_id == channel_id, Message.external_id.in_(external_ids)
                )
            )
        )
        for index, message in pairs:
            if message.external_id in existing:
                result.duplicates.append(index)
            else:
                existing.add(message.external_id)
                accepted.append((index, message))
    return accepted


def _organizations(session: Session, *, channels: dict[tuple[str, str], Channel]) -> dict[int, int]:
    brand_ids = {channel.brand_id for channel in channels.values()}
    org_of_brand = dict(
        session.execute(select(Brand.id, Brand.organization_id).where(Brand.id.in_(brand_ids))).all()
    )
    return {channel.id: org_of_brand[channel.brand_id] for channel in channels.values()}


def _author_id(message: InboundMessage) -> str | None:
    return message.author.id if message.author and message.author.id else None


def _author_name(message: InboundMessage, channel: Channel) -> str:
    if message.direction == "out":
        return channel.account
    return _display_name(message)


def _link_identities(
    session: Session,
    *,
    accepted: list[tuple[int, InboundMessage]],
    channels: dict[tuple[str, str], Channel],
    org_of_channel: dict[int, int],
) -> IdentityMap:
    """Map (organization, platform, author id) to (identity id, contact id), creating contacts as needed."""
    wanted: dict[tuple[int, str, str], InboundMessage] = {}
    for _, message in accepted:
        author_id = _author_id(message)
        if message.direction != "in" or author_id is None:
            continue
        channel = channels[(message.platform, normalize_account(message.platform, message.account))]
        wanted.setdefault((org_of_channel[channel.id], message.platform, author_id), message)
    found: IdentityMap = {}
    by_scope: dict[tuple[int, str], set[str]] = defaultdict(set)
    for organization_id, platform, author_id in wanted:
        by_scope[(organization_id, platform)].add(author_id)
    for (organization_id, platform), author_ids in by_scope.items():
        # Sealed platforms (e-mail) are found by their blind index (privacy/blind.py).
        stored = blind.lookup_ids(platform, author_ids)
        rows = session.execute(
            select(Identity.external_id, Identity.id, Identity.contact_id).where(
                Identity.organization_id == organization_id,
                Identity.platform == platform,
                Identity.external_id.in_(list(stored)),
            )
        )
        for external_id, identity_id, contact_id in rows:
            found[(organization_id, platform, stored[external_id])] = (identity_id, contact_id)
    missing = [key for key in wanted if key not in found]
    if missing:
        now = utcnow()
        contact_list = insert_returning_ids(
            session,
            table_of(Contact),
            [
                {
                    "organization_id": key[0],
                    "display_name": _display_name(wanted[key]),
                    "created_at": now,
                }
                for key in missing
            ],
        )
        identity_rows = []
        for key, contact_id in zip(missing, contact_list, strict=True):
            author = wanted[key].author
            assert author is not None
            identity_rows.append(
                {
                    "organization_id": key[0],
                    "contact_id": contact_id,
                    "platform": key[1],
                    **blind.identity_columns(key[1], key[2], author.handle),
                    "name": author.name,
                    "followers": author.followers,
                    "created_at": now,
                }
            )
        identity_ids = insert_returning_ids(session, table_of(Identity), identity_rows)
        for key, identity_id, contact_id in zip(missing, list(identity_ids), contact_list, strict=True):
            found[key] = (identity_id, contact_id)
    _update_reach(session, wanted=wanted, found=found, created=set(missing))
    return found


def _update_reach(
    session: Session,
    *,
    wanted: dict[tuple[int, str, str], InboundMessage],
    found: IdentityMap,
    created: set[tuple[int, str, str]],
) -> None:
    """Keep a known author's follower count current when the platform reports one (priority uses it)."""
    updates = [
        {"identity_id": found[key][0], "followers": message.author.followers}
        for key, message in wanted.items()
        if key not in created and message.author is not None and message.author.followers is not None
    ]
    if updates:
        table = table_of(Identity)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("identity_id"))
            .values(followers=bindparam("followers")),
            updates,
        )


def _display_name(message: InboundMessage) -> str:
    author = message.author
    if author is None:
        return ""
    if not author.name and blind.sealed_platform(message.platform):
        return blind.masked(author.id)[:200]  # never the address itself: it is copied onto every row
    return (author.name or author.handle or author.id)[:200]


def _thread_key(message: InboundMessage) -> str:
    """The conversation key for a message with no known parent."""
    if message.thread_id:
        return message.thread_id
    if message.in_reply_to:
        return message.in_reply_to
    if message.kind == "dm" and message.direction == "in" and message.author and message.author.id:
        return f"dm:{message.author.id}"
    return message.external_id


def _thread(
    session: Session,
    *,
    accepted: list[tuple[int, InboundMessage]],
    channels: dict[tuple[str, str], Channel],
) -> list[_Thread]:
    """Assign every accepted message (in time order) to a thread; see the module docstring."""
    channel_of: dict[int, Channel] = {}
    per_channel: dict[int, list[tuple[int, InboundMessage]]] = defaultdict(list)
    for index, message in accepted:
        channel = channels[(message.platform, normalize_account(message.platform, message.account))]
        channel_of[index] = channel
        per_channel[channel.id].append((index, message))

    # Existing conversations this batch may touch, by key, and existing parents' conversations.
    by_key: dict[tuple[int, str], _Thread] = {}
    parent_conversation: dict[tuple[int, str], int] = {}
    rows_by_id: dict[int, _Thread] = {}
    for channel_id, pairs in per_channel.items():
        channel = channel_of[pairs[0][0]]
        keys = {_thread_key(message) for _, message in pairs} | {message.external_id for _, message in pairs}
        in_batch = {message.external_id for _, message in pairs}
        # Parents in this batch are threaded below without the database.
        parents = {
            message.in_reply_to
            for _, message in pairs
            if message.in_reply_to and not message.thread_id and message.in_reply_to not in in_batch
        }
        for external_id, conversation_id in session.execute(
            select(Message.external_id, Message.conversation_id).where(
                Message.channel_id == channel_id, Message.external_id.in_(parents)
            )
        ):
            assert external_id is not None
            parent_conversation[(channel_id, external_id)] = conversation_id
        conversation_ids = set(parent_conversation.values())
        rows = session.scalars(
            select(Conversation).where(
                Conversation.channel_id == channel_id,
                Conversation.thread_key.in_(keys) | Conversation.id.in_(conversation_ids),
            )
        )
        for row in rows:
            existing = _Thread(channel=channel, key=row.thread_key, row=row)
            by_key[(channel_id, row.thread_key)] = existing
            rows_by_id[row.id] = existing

    thread_of_message: dict[tuple[int, str], _Thread] = {}
    for index, message in accepted:
        channel = channel_of[index]
        thread: _Thread | None = None
        if message.in_reply_to and not message.thread_id:
            thread = thread_of_message.get((channel.id, message.in_reply_to))
            if thread is None and (channel.id, message.in_reply_to) in parent_conversation:
                thread = rows_by_id[parent_conversation[(channel.id, message.in_reply_to)]]
        if thread is None:
            key = _thread_key(message)
            thread = by_key.get((channel.id, key))
            if thread is None:
                thread = _Thread(channel=channel, key=key)
                by_key[(channel.id, key)] = thread
        # Replies that arrived before this message wait in a conversation keyed by its id.
        waiting = by_key.get((channel.id, message.external_id))
        if waiting is not None and waiting is not thread:
            thread = _merge(waiting, into=thread, by_key=by_key)
        thread.new_messages.append((index, message))
        thread_of_message[(channel.id, message.external_id)] = thread

    unique: dict[int, _Thread] = {}
    for thread in by_key.values():
        if thread.new_messages or thread.absorbed_rows:
            unique[id(thread)] = thread
    _apply_merges(session, threads=list(unique.values()))
    return list(unique.values())


def _merge(source: _Thread, *, into: _Thread, by_key: dict[tuple[int, str], _Thread]) -> _Thread:
    """Fold ``source`` into ``into``; the survivor keeps the key of ``into`` (nearer the root)."""
    into.new_messages.extend(source.new_messages)
    into.absorbed_rows.extend(source.absorbed_rows)
    if source.row is not None:
        if into.row is None:
            into.row = source.row
        else:
            into.absorbed_rows.append(source.row)
    for key, thread in list(by_key.items()):
        if thread is source:
            by_key[key] = into
    source.new_messages = []
    source.absorbed_rows = []
    source.row = None
    return into


def _apply_merges(session: Session, *, threads: list[_Thread]) -> None:
    for thread in threads:
        if thread.row is not None and thread.row.thread_key != thread.key:
            session.execute(
                update(Conversation).where(Conversation.id == thread.row.id).values(thread_key=thread.key)
            )
            thread.row.thread_key = thread.key
        for absorbed in thread.absorbed_rows:
            if thread.row is None:
                continue
            session.execute(
                update(Message)
                .where(Message.conversation_id == absorbed.id)
                .values(conversation_id=thread.row.id)
            )
            session.execute(delete(Conversation).where(Conversation.id == absorbed.id))


def _first_contact(thread: _Thread, identities: IdentityMap, organization_id: int) -> int | None:
    """A conversation's contact is the author of its first customer message."""
    for _, message in sorted(thread.new_messages, key=lambda pair: pair[1].created_at):
        identity = identities.get((organization_id, message.platform, _author_id(message)))
        if message.direction == "in" and identity is not None:
            return identity[1]
    return None


def _facts(messages: Any) -> list[MessageFact]:
    return [
        MessageFact(
            inbound=message.direction == "in",
            created_at=message.created_at,
            counts_as_answer=message.direction == "out" and not message.is_automatic,
            text=message.text,
        )
        for message in messages
    ]


def _update_existing_conversations(
    session: Session,
    *,
    threads: list[_Thread],
    identities: IdentityMap,
    org_of_channel: dict[int, int],
    now: Any,
) -> None:
    """Bring every touched existing conversation's timestamps, status and contact up to date."""
    changed: list[tuple[_Thread, dict[str, Any]]] = []
    recompute: list[_Thread] = []
    for thread in threads:
        row = thread.row
        assert row is not None
        new = sorted((message for _, message in thread.new_messages), key=lambda message: message.created_at)
        if thread.absorbed_rows or (new and new[0].created_at < row.last_message_at):
            recompute.append(thread)
            continue
        values = {column: getattr(row, column) for column in AGGREGATE_COLUMNS}
        apply_messages(values, _facts(new))
        changed.append((thread, _with_status(row, values, new, now)))
    if recompute:
        facts = conversation_facts(
            session, conversation_ids=[thread.row.id for thread in recompute if thread.row]
        )
        for thread in recompute:
            assert thread.row is not None
            new = [message for _, message in thread.new_messages]
            values = aggregate_conversation(facts[thread.row.id])
            changed.append((thread, _with_status(thread.row, values, new, now)))
    for thread, values in changed:
        assert thread.row is not None
        if thread.row.contact_id is None:
            contact_id = _first_contact(thread, identities, org_of_channel[thread.channel.id])
            if contact_id is not None:
                values["contact_id"] = contact_id
    updates = [values for _, values in changed]
    if updates:
        session.execute(update(Conversation), updates)


def _with_status(
    row: Conversation, values: dict[str, Any], new: list[InboundMessage], now: Any
) -> dict[str, Any]:
    status = row.status
    if any(message.direction == "in" for message in new) and status in REOPENING_STATUSES:
        status = "open"
        values["resolved_at"] = None
    elif status == "new" and values["first_response_at"] is not None:
        status = "open"
    values.update({"id": row.id, "status": status, "updated_at": now})
    return values


def conversation_facts(session: Session, *, conversation_ids: list[int]) -> dict[int, list[MessageFact]]:
    """The stored messages of some conversations, as aggregation facts."""
    facts: dict[int, list[MessageFact]] = defaultdict(list)
    if not conversation_ids:
        return facts
    rows = session.execute(
        select(
            Message.conversation_id,
            Message.direction,
            Message.created_at,
            Message.is_automatic,
            Message.delivery_state,
            Message.text,
        ).where(Message.conversation_id.in_(conversation_ids))
    )
    for conversation_id, direction, created_at, is_automatic, delivery_state, text in rows:
        if direction == "out" and delivery_state != "sent":
            continue  # a reply not (yet) delivered is not part of the conversation's timeline
        facts[conversation_id].append(
            MessageFact(
                inbound=direction == "in",
                created_at=created_at,
                counts_as_answer=direction == "out" and not is_automatic,
                text=text,
            )
        )
    return facts


def do_store_rejected_input(
    session: Session, *, source: str, items: Sequence[tuple[str, bytes, str]], channel_id: int | None = None
) -> None:
    """Keep input we could not use (dedupe key, raw bytes, reason) for inspection; a repeat is ignored."""
    if not items:
        return
    keys = [key for key, _, _ in items]
    existing = set(
        session.scalars(
            select(RawEvent.dedupe_key).where(RawEvent.source == source, RawEvent.dedupe_key.in_(keys))
        )
    )
    rows: list[dict[str, Any]] = [
        {
            "source": source,
            "dedupe_key": key,
            "channel_id": channel_id,
            "received_at": utcnow(),
            "headers": {},
            "body": seal_raw(body),
            "status": "rejected",
            "error": reason,
        }
        for key, body, reason in items
        if key not in existing
    ]
    if rows:
        session.execute(insert(table_of(RawEvent)), rows)
