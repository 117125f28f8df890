"""The KPI engine: facts and hourly rollups against hand-computed fixtures; incremental maintenance ==
rebuild == the direct computation of kpis.py; re-processing any range of events counts nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.replies import do_record_delivery, do_reply
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.events import ConversationUpdated, record_events
from tilsvar.importing.run import run_import
from tilsvar.models import (
    AnalyticsCursor,
    Brand,
    Conversation,
    DomainEvent,
    KpiConversationFact,
    KpiDaily,
    KpiHourly,
    KpiResponseFact,
)
from tilsvar.models.base import table_of
from tilsvar.models.workflow import ConversationWorkflowState, CsatSurvey
from tilsvar.reports import engine
from tilsvar.reports.engine import Scope, breakdown, kpi_report, series, summary_block
from tilsvar.reports.kpis import Period, compute_report
from tilsvar.reports.rollups import rebuild_rollups, refresh_rollups

from conftest import Seeded
from helpers import shared_path

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
DAY = Period.from_dates(date(2026, 2, 2), date(2026, 2, 2))


def _message(
    channel: Any, eid: str, direction: str, minutes: float, parent: str | None = None, automatic: bool = False
) -> InboundMessage:
    return InboundMessage(
        platform=channel.platform,
        account=channel.account,
        external_id=eid,
        direction="in" if direction == "in" else "out",
        kind="comment",
        text=eid,
        created_at=T0 + timedelta(minutes=minutes),
        author=Author(id="c-" + eid) if direction == "in" else None,
        in_reply_to=parent,
        is_automatic=automatic,
    )


def _fixture(database: Database, seeded: Seeded) -> None:
    x, fb = seeded.x_channel, seeded.fb_channel
    messages = [
        _message(x, "a1", "in", 0),
        _message(x, "a2", "out", 10, "a1"),
        _message(x, "a3", "in", 20, "a2"),
        _message(x, "a4", "out", 25, "a3"),
        _message(x, "b1", "in", 60),
        _message(x, "b2", "out", 460, "b1"),
        _message(fb, "c1", "in", 100),
        _message(fb, "c2", "out", 101, "c1", automatic=True),
        _message(fb, "c3", "out", 130, "c1"),
        _message(fb, "d1", "in", 200),
        _message(fb, "e1", "out", 50),
        _message(fb, "e2", "in", 55, "e1"),
        _message(fb, "f1", "in", 24 * 60 + 1),
    ]
    with database.session() as session:
        do_ingest_messages(session, messages=messages)


def snapshot(database: Database) -> dict[str, Any]:
    """Every fact and rollup row, comparable across runs."""

    def rows(model: Any, order: Any) -> list[tuple[Any, ...]]:
        columns = list(table_of(model).columns)
        with database.reader() as session:
            return [
                tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                for row in session.execute(select(*columns).order_by(*order))
            ]

    return {
        "facts": rows(KpiConversationFact, [KpiConversationFact.conversation_id]),
        "responses": rows(KpiResponseFact, [KpiResponseFact.conversation_id, KpiResponseFact.seq]),
        "hourly": rows(KpiHourly, list(table_of(KpiHourly).primary_key.columns)),
        "daily": rows(KpiDaily, list(table_of(KpiDaily).primary_key.columns)),
    }


def _hourly(database: Database) -> dict[tuple[int, int], dict[str, Any]]:
    with database.reader() as session:
        return {
            (row.hour.hour + (24 if row.hour.day == 3 else 0), row.channel_id): {
                "conversations": row.conversations,
                "inquiries": row.inquiries,
                "answered": row.answered,
                "frt_sum_minutes": row.frt_sum_minutes,
                "messages_in": row.messages_in,
                "messages_out": row.messages_out,
            }
            for row in session.scalars(select(KpiHourly))
        }


def test_hand_computed_facts_and_rollups(database: Database, seeded: Seeded) -> None:
    _fixture(database, seeded)
    result = refresh_rollups(database)
    assert result.conversations == 6
    x, fb = seeded.x_channel.id, seeded.fb_channel.id
    cell = {
        "conversations": 1,
        "inquiries": 1,
        "answered": 1,
        "frt_sum_minutes": 10.0,
        "messages_in": 2,
        "messages_out": 2,
    }
    assert _hourly(database) == {
        # a1 08:00, answered after 10 minutes; a3 → a4 is a next response of 5 minutes
        (8, x): cell,
        # e1 08:50 is brand-initiated: a conversation, not an inquiry
        (8, fb): {
            **cell,
            "inquiries": 0,
            "answered": 0,
            "frt_sum_minutes": 0.0,
            "messages_in": 1,
            "messages_out": 1,
        },
        # b1 09:00 answered after 400; c1 09:40 answered after 30 (the automatic reply does not count)
        (9, x): {**cell, "frt_sum_minutes": 400.0, "messages_in": 1, "messages_out": 1},
        (9, fb): {**cell, "frt_sum_minutes": 30.0, "messages_in": 1, "messages_out": 1},
        # d1 11:20 waits; f1 the next day at 08:01
        (11, fb): {**cell, "answered": 0, "frt_sum_minutes": 0.0, "messages_in": 1, "messages_out": 0},
        (32, fb): {**cell, "answered": 0, "frt_sum_minutes": 0.0, "messages_in": 1, "messages_out": 0},
    }
    with database.reader() as session:
        assert list(session.scalars(select(KpiResponseFact.minutes))) == [5.0]
        report = kpi_report(session, period=DAY, scope=Scope((seeded.rail.id,)), now=T0 + timedelta(hours=5))
        direct = compute_report(
            session, period=DAY, brand_ids=[seeded.rail.id], now=T0 + timedelta(hours=5)
        ).as_json()
    assert report == direct
    assert (report["inquiries"], report["answered"], report["first_response_minutes"]["median"]) == (
        4,
        3,
        30.0,
    )
    assert report["oldest_unanswered"]["age_minutes"] == pytest.approx(100.0)
    assert report["next_response_minutes"] == {"count": 1, "median": 5.0, "p90": 5.0}


def test_reprocessing_any_event_range_counts_nothing_twice(database: Database, seeded: Seeded) -> None:
    _fixture(database, seeded)
    refresh_rollups(database)
    once = snapshot(database)
    with database.session() as session:
        session.execute(update(AnalyticsCursor).values(position=0))
    refresh_rollups(database, batch=3)  # every event again, in small batches
    assert snapshot(database) == once
    with database.session() as session:
        middle = session.scalar(select(DomainEvent.id).order_by(DomainEvent.id).offset(5).limit(1))
        session.execute(update(AnalyticsCursor).values(position=middle))
    refresh_rollups(database)
    assert snapshot(database) == once
    rebuild_rollups(database)
    assert snapshot(database) == once
    again = refresh_rollups(database)
    assert snapshot(database) == once
    if database.is_sqlite:
        assert again.events == 0  # the rebuild moved the cursor to the end
    else:
        assert again.position == 0  # PostgreSQL: events younger than the settle window are read again


def test_replies_csat_and_sla_update_incrementally(database: Database, seeded: Seeded) -> None:
    _fixture(database, seeded)
    refresh_rollups(database)
    with database.session() as session:
        waiting = session.scalars(
            select(Conversation).where(
                Conversation.first_response_at.is_(None), Conversation.first_message_inbound
            )
        ).all()
        d1 = next(c for c in waiting if c.first_inbound_at == T0 + timedelta(minutes=200))
        reply = do_reply(session, user=seeded.agent, conversation=d1, text="We are on it")
    with database.session() as session:
        do_record_delivery(session, message_id=reply.id, external_id="sent-1")
    with database.session() as session:
        # What the workflow records (its own actions are tested elsewhere): a survey answer, a breach.
        session.add(CsatSurvey(conversation_id=d1.id, sent_at=T0, rating="happy", answered_at=T0))
        state = session.get(ConversationWorkflowState, d1.id)
        if state is None:
            session.add(ConversationWorkflowState(conversation_id=d1.id, sla_level="breached"))
        else:
            state.sla_level = "breached"
        record_events(session, [ConversationUpdated(brand_id=d1.brand_id, conversation_id=d1.id)])
    refresh_rollups(database)
    with database.reader() as session:
        fact = session.get_one(KpiConversationFact, d1.id)
        assert (fact.agent_id, fact.csat, fact.csat_sent, fact.sla_breached) == (
            seeded.agent.id,
            "happy",
            True,
            True,
        )
        assert fact.frt_minutes is not None
        assert fact.frt_minutes > 0
        block = summary_block(session, DAY, Scope((seeded.rail.id,)), 320)
        assert block["answered"] == 4
        assert block["csat"]["happy"] == 1
        assert block["csat"]["happy_share"] == 1.0
        levels = [
            level
            for level, inbound, first in session.execute(
                select(
                    ConversationWorkflowState.sla_level,
                    Conversation.first_inbound_at,
                    Conversation.first_message_at,
                )
                .join(Conversation, Conversation.id == ConversationWorkflowState.conversation_id)
                .where(Conversation.brand_id == seeded.rail.id)
            )
            if DAY.start <= (inbound or first) < DAY.end and level not in ("none", "cancelled")
        ]
        breached = sum(1 for level in levels if level in ("breached", "missed"))
        assert breached >= 1
        assert block["sla"] == {
            "available": True,
            "measured": len(levels),
            "breached": breached,
            "attainment": 1 - breached / len(levels),
        }
        direct = compute_report(session, period=DAY, brand_ids=[seeded.rail.id]).as_json()
        report = kpi_report(session, period=DAY, scope=Scope((seeded.rail.id,)))
    incremental = snapshot(database)
    for key in ("inquiries", "answered", "first_response_minutes", "by_channel", "next_response_minutes"):
        assert report[key] == direct[key], key
    rebuild_rollups(database)
    assert snapshot(database) == incremental


@pytest.mark.parametrize(
    ("first", "last"), [(date(2000, 1, 1), date(2030, 12, 31)), (date(2017, 10, 30), date(2017, 11, 2))]
)
def test_twcs_incremental_equals_rebuild_equals_direct(database: Database, first: date, last: date) -> None:
    path = shared_path("eval", "support", "twcs", "twcs_threads.csv")
    run_import(database, path, fmt="twcs", analyze=False, batch_size=300)
    refresh_rollups(database, batch=700)
    incremental = snapshot(database)
    assert len(incremental["facts"]) > 300
    period = Period.from_dates(first, last)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with database.reader() as session:
        brand_ids = list(session.scalars(select(Brand.id)))
        direct = compute_report(session, period=period, brand_ids=brand_ids, now=now).as_json()
        from_rollups = kpi_report(session, period=period, scope=Scope(tuple(brand_ids)), now=now)
        for brand_id in brand_ids[:3]:
            assert (
                kpi_report(session, period=period, scope=Scope((brand_id,)), now=now)
                == compute_report(session, period=period, brand_ids=[brand_id], now=now).as_json()
            )
    assert from_rollups == direct
    rebuild_rollups(database)
    assert snapshot(database) == incremental


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def test_twcs_daily_rollup_reads_equal_hourly_reads(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A period of whole days with hours on both sides is read from the daily rollup and the edge hours;
    the figures equal the direct computation and a read of the hourly rollup and facts alone."""
    path = shared_path("eval", "support", "twcs", "twcs_threads.csv")
    run_import(database, path, fmt="twcs", analyze=False, batch_size=300)
    refresh_rollups(database, batch=700)
    period = Period(start=datetime(2017, 10, 29, 7, tzinfo=UTC), end=datetime(2017, 11, 2, 13, tzinfo=UTC))
    days, edges = engine.split(period, Scope((1,)))
    assert days is not None
    assert len(edges) == 2
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def figures() -> dict[str, Any]:
        with database.reader() as session:
            brand_ids = tuple(session.scalars(select(Brand.id)))
            scope = Scope(brand_ids)
            whole = Period.from_dates(date(2017, 10, 27), date(2017, 11, 3))
            found: dict[str, Any] = _rounded(
                {
                    "kpis": kpi_report(session, period=period, scope=scope, now=now),
                    "summary": summary_block(session, period, scope, 60.0),
                    "breakdowns": {
                        name: breakdown(session, period, scope, name)
                        for name in ("brand", "channel", "team", "agent", "language", "intent", "sentiment")
                    },
                    "series": series(session, whole, scope, by="channel"),
                    "direct": compute_report(
                        session, period=period, brand_ids=list(brand_ids), now=now
                    ).as_json(),
                }
            )
        return found

    from_daily = figures()
    assert from_daily["kpis"] == from_daily["direct"]
    assert from_daily["summary"]["inquiries"] > 50
    monkeypatch.setattr(engine, "split", lambda period, scope: (None, [period]))
    assert figures() == from_daily


def test_a_daily_cell_that_does_not_add_up_is_recomputed(database: Database, seeded: Seeded) -> None:
    """If a daily totals row lost a response time it should hold, the next change in its cell finds
    that out and recomputes the cell from its facts (the rows equal the rebuild's again)."""
    _fixture(database, seeded)
    refresh_rollups(database)
    once = snapshot(database)
    with database.session() as session:
        session.execute(
            update(KpiDaily).where(KpiDaily.dimension == "").values(frt_values=b"", conversations=0)
        )
        session.execute(update(AnalyticsCursor).values(position=0))
    assert snapshot(database) != once
    refresh_rollups(database)  # every event again: each fact leaves its rows and enters them again
    assert snapshot(database) == once
