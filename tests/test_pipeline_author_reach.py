"""Author reach: X reports a follower count with each message; it is kept on the author's identity and
raises the priority of what large accounts write (a question from 50k followers is high, not normal)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import InboundMessage
from tilsvar.channels.base import Author
from tilsvar.channels.x.inbound import followers_of
from tilsvar.db import Database
from tilsvar.models import Identity, Message, utcnow

from conftest import Seeded

QUESTION = "Hvornår kører det næste tog til Aarhus?"


def _ingest(database: Database, seeded: Seeded, external_id: str, author: Author) -> int:
    message = InboundMessage(
        platform="x",
        account=seeded.x_channel.account,
        external_id=external_id,
        direction="in",
        kind="post",
        text=QUESTION,
        created_at=utcnow(),
        author=author,
    )
    with database.session() as session:
        result = do_ingest_messages(session, messages=[message])
    return result.stored[0]


def _priority(database: Database, message_id: int) -> str | None:
    with database.reader() as session:
        return session.get_one(Message, message_id).priority


def test_a_large_account_raises_priority_and_its_reach_stays_current(
    database: Database, seeded: Seeded, run_jobs: Callable[[], int]
) -> None:
    small = _ingest(database, seeded, "t1", Author(id="u1", handle="@small", followers=120))
    large = _ingest(database, seeded, "t2", Author(id="u2", handle="@famous", followers=52_000))
    unknown = _ingest(database, seeded, "t3", Author(id="u3", handle="@quiet"))
    run_jobs()
    assert _priority(database, small) == "normal"
    assert _priority(database, large) == "high"
    assert _priority(database, unknown) == "normal"

    # the small account grows: its next message carries the new count, which replaces the old one
    grown = _ingest(database, seeded, "t4", Author(id="u1", handle="@small", followers=15_000))
    # a later message without a count keeps the last known reach
    _ingest(database, seeded, "t5", Author(id="u2", handle="@famous"))
    run_jobs()
    assert _priority(database, grown) == "high"
    with database.reader() as session:
        reach = dict(session.execute(select(Identity.external_id, Identity.followers)).all())
    assert reach["u1"] == 15_000
    assert reach["u2"] == 52_000
    assert reach["u3"] is None


def test_x_payloads_report_followers_in_both_api_versions() -> None:
    assert followers_of({"screen_name": "a", "followers_count": 427}) == 427
    assert followers_of({"username": "a", "public_metrics": {"followers_count": 9001}}) == 9001
    assert followers_of({"screen_name": "a"}) is None
    assert followers_of({"followers_count": "oops"}) is None
    assert followers_of({"followers_count": True}) is None


def test_recorded_x_tweets_carry_the_authors_followers() -> None:
    import json

    import pytest

    from tilsvar.channels import x
    from webhook_support import RECORDED

    path = (
        RECORDED
        / "x_twitter"
        / "zammad_test_data"
        / "webhook_events_as_json"
        / "tweet_create-user_mention.json"
    )
    if not path.exists():
        pytest.skip("../shared/platforms/recorded is not available")
    payload = json.loads(path.read_text())
    payload = payload.get("params", payload)
    found = [
        event
        for _, account_id in x.accounts(payload)
        for event in x.parse(payload, platform="x", account="recorded", account_id=account_id)
        if isinstance(event, InboundMessage) and event.direction == "in"
    ]
    assert found
    assert all(event.author is not None and event.author.followers is not None for event in found)
