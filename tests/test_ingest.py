"""Ingestion: threading (in order and out of order), duplicates, contacts and conversation timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.models import Contact, Conversation, DomainEvent, Identity, Job, Message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def tweet(
    eid: str, direction: str, minutes: float, parent: str | None = None, author: str = "ola"
) -> InboundMessage:
    return InboundMessage(
        platform="x",
        account="nordicrailhelp",  # X handles are case-insensitive
        external_id=eid,
        direction="in" if direction == "in" else "out",
        kind="comment",
        text=f"tweet {eid}",
        created_at=T0 + timedelta(minutes=minutes),
        author=Author(id=author, handle=f"@{author}", name=author.title()) if direction == "in" else None,
        in_reply_to=parent,
    )


def conversations(database: Database) -> list[Conversation]:
    with database.reader() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.id)))


def test_reply_chain_is_one_conversation_with_kpi_timestamps(database: Database, seeded: object) -> None:
    with database.session() as session:
        result = do_ingest_messages(
            session,
            messages=[
                tweet("1", "in", 0),
                tweet("2", "out", 30, "1"),
                tweet("3", "in", 40, "2"),
                tweet("4", "out", 45, "3"),
                tweet("5", "in", 50, "4"),
            ],
        )
    assert len(result.stored) == 5
    [conversation] = conversations(database)
    assert conversation.thread_key == "1"
    assert conversation.message_count == 5
    assert conversation.first_message_inbound
    assert conversation.first_inbound_at == T0
    assert conversation.first_response_at == T0 + timedelta(minutes=30)
    assert conversation.last_outbound_at == T0 + timedelta(minutes=45)
    assert conversation.waiting_since == T0 + timedelta(minutes=50)
    assert conversation.status == "open"
    assert conversation.preview == "tweet 5"


def test_replies_arriving_before_their_parents_join_one_conversation(
    database: Database, seeded: object
) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("13", "in", 40, "12")])
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("12", "out", 30, "11")])
    assert len(conversations(database)) == 1
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("11", "in", 0)])
    [conversation] = conversations(database)
    assert conversation.thread_key == "11"
    assert conversation.message_count == 3
    assert conversation.first_message_inbound
    assert conversation.first_inbound_at == T0
    assert conversation.first_response_at == T0 + timedelta(minutes=30)
    assert conversation.waiting_since == T0 + timedelta(minutes=40)


def test_two_orphan_branches_merge_when_the_parent_arrives(database: Database, seeded: object) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("22", "in", 10, "21", author="kari")])
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("21", "out", 5, "20")])
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("20", "in", 0, author="kari")])
    [conversation] = conversations(database)
    assert conversation.message_count == 3
    with database.reader() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == conversation.id)
            )
            == 3
        )


def test_duplicates_never_duplicate(database: Database, seeded: object) -> None:
    batch = [tweet("1", "in", 0), tweet("1", "in", 0), tweet("2", "out", 5, "1")]
    with database.session() as session:
        first = do_ingest_messages(session, messages=batch)
    with database.session() as session:
        second = do_ingest_messages(session, messages=batch)
    assert (len(first.stored), len(first.duplicates)) == (2, 1)
    assert (len(second.stored), len(second.duplicates)) == (0, 3)
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1


def test_same_author_is_one_contact_and_the_conversation_customer(database: Database, seeded: object) -> None:
    with database.session() as session:
        do_ingest_messages(
            session, messages=[tweet("1", "in", 0, author="u9"), tweet("7", "in", 3, author="u9")]
        )
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 1
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
        contact_id = session.scalar(select(Contact.id))
        assert {c.contact_id for c in session.scalars(select(Conversation))} == {contact_id}


def test_unknown_channel_is_rejected_with_a_reason(database: Database, seeded: object) -> None:
    message = InboundMessage(
        platform="x",
        account="SomeoneElse",
        external_id="1",
        direction="in",
        kind="comment",
        text="hi",
        created_at=T0,
        author=Author(id="a"),
    )
    with database.session() as session:
        result = do_ingest_messages(session, messages=[message])
    assert result.rejected == [(0, "unknown channel x:SomeoneElse")]


def test_ingest_records_events_and_queues_the_pipeline_in_the_same_transaction(
    database: Database, seeded: object
) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("1", "in", 0), tweet("2", "out", 1, "1")])
    with database.reader() as session:
        types = list(session.scalars(select(DomainEvent.type).order_by(DomainEvent.id)))
        jobs = list(session.scalars(select(Job)))
    assert types.count("message.received") == 2
    assert types.count("conversation.created") == 1
    assert [job.kind for job in jobs] == ["pipeline.analyze"]
    assert len(jobs[0].payload["message_ids"]) == 1  # inbound only


def test_a_failing_batch_stores_nothing(database: Database, seeded: object) -> None:
    try:
        with database.session() as session:
            do_ingest_messages(session, messages=[tweet("1", "in", 0)])
            raise RuntimeError("crash after ingest, before commit")
    except RuntimeError:
        pass
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_customer_reply_reopens_a_resolved_conversation(database: Database, seeded: object) -> None:
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("1", "in", 0), tweet("2", "out", 5, "1")])
    with database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        conversation.status = "resolved"
    with database.session() as session:
        do_ingest_messages(session, messages=[tweet("3", "in", 9, "2")])
    [conversation] = conversations(database)
    assert conversation.status == "open"
    assert conversation.waiting_since == T0 + timedelta(minutes=9)
