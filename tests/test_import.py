"""``tilsvar import``: JSON lines and twcs, idempotent, bad lines reported with reasons and kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tilsvar.db import Database
from tilsvar.importing.run import run_import
from tilsvar.models import Channel, Conversation, Job, Message, RawEvent
from tilsvar.models.workflow import ConversationWorkflowState
from tilsvar.privacy.sealing import open_raw

from conftest import Seeded
from helpers import shared_path

GOOD: list[dict[str, Any]] = [
    {
        "platform": "x",
        "account": "NordicRailHelp",
        "external_id": "1185",
        "in_reply_to": None,
        "direction": "in",
        "author": {"id": "115712", "handle": "@ola", "name": "Ola"},
        "created_at": "2017-10-31T22:10:47+00:00",
        "text": "@NordicRailHelp toget er forsinket igen",
        "kind": "comment",
    },
    {
        "platform": "x",
        "account": "nordicrailhelp",
        "external_id": 1187,
        "in_reply_to": "1185",
        "direction": "out",
        "created_at": "2017-10-31T22:40:47+00:00",
        "text": "Beklager, Ola!",
        "kind": "comment",
    },
    {
        "platform": "facebook",
        "account": "NordicRail",
        "external_id": "fb-1",
        "thread_id": "post-9",
        "direction": "in",
        "author": {"id": "p1", "name": "Per"},
        "created_at": "2017-11-01T08:00:00Z",
        "text": "Hvornår kører toget?",
        "kind": "comment",
    },
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_import_is_idempotent_and_threads_replies(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    path = write(tmp_path / "m.jsonl", [json.dumps(record) for record in GOOD])
    first = run_import(database, path, fmt="jsonl")
    assert (first.imported, first.duplicates, first.rejected_count) == (3, 0, 0)
    second = run_import(database, path, fmt="jsonl")
    assert (second.imported, second.duplicates, second.rejected_count) == (0, 3, 0)
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 3
        conversations = list(session.scalars(select(Conversation).order_by(Conversation.id)))
    assert [c.message_count for c in conversations] == [2, 1]
    assert conversations[0].channel_id == seeded.x_channel.id  # matched case-insensitively
    assert conversations[1].thread_key == "post-9"


def test_bad_lines_are_reported_with_line_numbers_and_kept(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    lines = [
        json.dumps(GOOD[0]),
        "{not json",
        json.dumps({**GOOD[2], "external_id": "fb-2", "direction": "sideways"}),
        "",
        json.dumps({**GOOD[2], "external_id": "fb-3", "created_at": "2017-11-01T08:00:00"}),
        json.dumps({**GOOD[2], "external_id": "fb-4", "platform": "myspace"}),
        json.dumps(["a", "list"]),
        json.dumps({k: v for k, v in GOOD[2].items() if k != "text"} | {"external_id": "fb-5"}),
        json.dumps(GOOD[2]),
    ]
    report = run_import(database, write(tmp_path / "bad.jsonl", lines), fmt="jsonl")
    assert report.imported == 2
    assert report.rejected_count == 6
    reasons = dict(report.rejected)
    assert "invalid JSON" in reasons[2]
    assert "direction" in reasons[3]
    assert "time zone" in reasons[5]
    assert "platform" in reasons[6]
    assert "object" in reasons[7]
    assert "text" in reasons[8]
    with database.reader() as session:
        kept = list(session.scalars(select(RawEvent).where(RawEvent.status == "rejected")))
    assert len(kept) == 6
    # Kept for inspection, encrypted at rest (docs/privacy.md): the key opens it.
    assert any(open_raw(event.body) == b"{not json" for event in kept)
    assert not any(b"{not json" in event.body for event in kept)
    again = run_import(database, write(tmp_path / "bad.jsonl", lines), fmt="jsonl")
    assert again.rejected_count == 6
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(RawEvent)) == 6  # not kept twice


def test_unknown_accounts_get_channels_in_the_chosen_brand(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    record = {**GOOD[0], "account": "NordicRailPress", "platform": "x"}
    run_import(database, write(tmp_path / "n.jsonl", [json.dumps(record)]), fmt="jsonl", brand="rail")
    with database.reader() as session:
        channel = session.scalars(select(Channel).where(Channel.account == "NordicRailPress")).one()
    assert channel.brand_id == seeded.rail.id


def test_twcs_import_threads_whole_conversations(database: Database, tmp_path: Path) -> None:
    csv_path = shared_path("eval", "support", "twcs", "twcs_threads.csv")
    report = run_import(database, csv_path, fmt="twcs", analyze=False)
    assert (report.imported, report.duplicates, report.rejected_count) == (1687, 0, 0)
    assert report.conversations_created == 390
    again = run_import(database, csv_path, fmt="twcs", analyze=False)
    assert (again.imported, again.duplicates) == (0, 1687)


def test_twcs_thread_without_reply_goes_to_the_addressed_known_brand(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
    rows = [
        header,
        '1,cust1,True,Tue Oct 31 22:10:47 +0000 2017,"@nordicrailHELP where is my train?",,',
        '2,cust2,True,Tue Oct 31 22:11:47 +0000 2017,"@nobody hello",,',
        "3,cust3,maybe,Tue Oct 31 22:11:47 +0000 2017,broken,,",
    ]
    report = run_import(database, write(tmp_path / "t.csv", rows), fmt="twcs")
    assert report.imported == 1
    assert dict(report.rejected) == {
        3: "no brand account for this thread (no reply, no known @handle)",
        4: "inbound must be True or False, not 'maybe'",
    }
    with database.reader() as session:
        message = session.scalars(select(Message)).one()
    assert message.channel_id == seeded.x_channel.id


def test_a_large_import_routed_like_live_traffic_is_routed_by_the_worker(
    database: Database, seeded: Seeded, tmp_path: Path, run_jobs: Callable[[], int]
) -> None:
    lines = [
        json.dumps(
            {
                "platform": "facebook",
                "account": "NordicRail",
                "external_id": f"bulk-{number}",
                "direction": "in",
                "author": {"id": f"p{number}", "name": f"Person {number}"},
                "created_at": "2026-11-01T08:00:00Z",
                "text": "Hvornår kører toget?",
                "kind": "comment",
            }
        )
        for number in range(120)
    ]
    report = run_import(
        database, write(tmp_path / "bulk.jsonl", lines), fmt="jsonl", analyze=False, route=True
    )
    assert report.imported == 120
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "workflow.route")) == 1
        assert session.scalar(select(func.count()).select_from(ConversationWorkflowState)) == 0
        # Meanwhile every conversation waits in its channel's team queue.
        assert session.scalar(select(func.count()).where(Conversation.team_id.is_(None))) == 0
    run_jobs()
    with database.reader() as session:
        routed = session.scalar(
            select(func.count())
            .select_from(ConversationWorkflowState)
            .where(ConversationWorkflowState.routed_at.is_not(None))
        )
    assert routed == 120


def test_imported_history_is_not_routed_by_default(
    database: Database, seeded: Seeded, tmp_path: Path, run_jobs: Callable[[], int]
) -> None:
    path = write(tmp_path / "m.jsonl", [json.dumps(record) for record in GOOD])
    run_import(database, path, fmt="jsonl")
    run_jobs()  # the understanding pipeline runs; routing does not
    with database.reader() as session:
        assert (
            session.scalar(select(func.count()).select_from(Message).where(Message.analysis.is_not(None)))
            == 2
        )
        assert session.scalar(select(func.count()).select_from(ConversationWorkflowState)) == 0
        assert session.scalar(select(func.count()).where(Conversation.assignee_id.is_not(None))) == 0
