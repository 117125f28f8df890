"""Webhook receipts under a busy database: when the worker holds SQLite's write lock, a signed
delivery is checked, spooled beside the database and acknowledged at once, then moved into
``raw_events`` with its job when the lock is free; forged ones are still refused and a redelivery of
a spooled delivery is still recognised once both are moved."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tilsvar.api.webhook_receipts import SPOOL_SECONDS, move_spooled
from tilsvar.channels import meta
from tilsvar.db import Database
from tilsvar.jobs import webhook_handlers
from tilsvar.models import Job
from webhook_support import connect, dumps, messages, raw_events

from conftest import Seeded

APP_SECRET = "receipts-app-secret"
PAGE_ID = "448242228374517"


def comment(comment_id: str) -> bytes:
    value = {
        "from": {"id": "9038263149527012", "name": "Jane Customer"},
        "post_id": f"{PAGE_ID}_1221",
        "comment_id": comment_id,
        "created_time": 1742667604,
        "item": "comment",
        "parent_id": f"{PAGE_ID}_1221",
        "verb": "add",
        "message": f"Where is my refund? ({comment_id})",
    }
    return dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE_ID, "time": 1742667606, "changes": [{"field": "feed", "value": value}]}],
        }
    )


@pytest.fixture
def page(database: Database, seeded: Seeded) -> int:
    """A Facebook Page channel on a SQLite database (the spool exists for SQLite's one write lock)."""
    if not database.is_sqlite:
        pytest.skip("the spool exists for SQLite's one write lock")
    return connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials={"app_secret": APP_SECRET},
    )


def signed_post(client: TestClient, body: bytes, secret: str = APP_SECRET) -> Any:
    return client.post(
        "/webhooks/meta",
        content=body,
        headers={"Content-Type": "application/json", meta.SIGNATURE_HEADER: meta.sign(body, secret)},
    )


@contextmanager
def write_lock_held(database: Database) -> Iterator[None]:
    """The database's write lock held by another connection (the worker storing a long batch)."""
    path = make_url(database.url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_busy_database_spools_the_delivery_and_it_is_stored_once_later(
    client: TestClient, database: Database, page: int, run_jobs: Callable[[], int]
) -> None:
    path = make_url(database.url).database
    assert path
    with write_lock_held(database):
        first = signed_post(client, comment("1221_1"))
        again = signed_post(client, comment("1221_1"))  # the platform retries
        forged = signed_post(client, comment("1221_2"), secret="wrong")
        malformed = signed_post(client, b"{not json")
        assert (first.status_code, first.json()) == (200, {"spooled": 1})
        assert again.status_code == 200
        assert forged.status_code == 403
        assert malformed.status_code == 400
        assert raw_events(database) == []  # nothing could be written yet

    # The job worker (or, without one, the server itself) moves the spool into the database and
    # processes what it moved in the same transaction: the message is there without a job.
    while move_spooled(database):
        pass
    wait_for(lambda: len(raw_events(database)) == 2)
    stored = raw_events(database)
    assert sorted(event.status for event in stored) == ["processed", "rejected"]  # the malformed body kept
    assert [m.external_id for m in messages(database, page)] == ["1221_1"]
    with database.reader() as session:
        assert session.scalar(select(func.count()).where(Job.kind == "webhook.process")) == 0
    run_jobs()
    assert [m.external_id for m in messages(database, page)] == ["1221_1"]
    # The spool is empty again and keeps nothing of the bodies.
    spool = sqlite3.connect(path + ".receipts")
    # (the server's own mover may be finishing the same rows: moving twice stores nothing twice)
    wait_for(lambda: spool.execute("SELECT count(*) FROM spooled").fetchone() == (0,))
    spool.close()

    # With the lock free again (and the writer's spool-first second over), deliveries are stored
    # directly (and a redelivery is recognised).
    time.sleep(SPOOL_SECONDS + 0.1)
    direct = signed_post(client, comment("1221_1"))
    assert direct.json() == {"stored": 0, "duplicates": 1}


def test_a_spooled_delivery_that_cannot_be_processed_is_queued_for_the_worker(
    client: TestClient,
    database: Database,
    page: int,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ingest is broken for a moment")

    # Broken before the lock is free: the server's own mover may be the one that moves it.
    monkeypatch.setattr(webhook_handlers, "do_process_webhook_events", broken)
    with write_lock_held(database):
        assert signed_post(client, comment("1221_9")).json() == {"spooled": 1}
    while move_spooled(database):
        pass
    # Moved all the same, as a stored delivery with its job: nothing lost, nothing half-processed.
    wait_for(lambda: [event.status for event in raw_events(database)] == ["stored"])
    assert messages(database, page) == []
    monkeypatch.undo()
    run_jobs()
    assert [m.external_id for m in messages(database, page)] == ["1221_9"]
    assert [event.status for event in raw_events(database)] == ["processed"]
