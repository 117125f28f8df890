"""KPI report: hand-computed fixtures, and an independent reading of KPIS.md on the twcs threads."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database
from tilsvar.importing.run import run_import
from tilsvar.models import Brand
from tilsvar.reports.kpis import Period, compute_report
from tilsvar.reports.stats import percentile

from conftest import IngestFn, Seeded
from helpers import auth, shared_path

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


def test_percentile_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 10, 101):
        values = list(rng.exponential(100, size))
        for q in (0, 10, 50, 90, 99, 100):
            assert math.isclose(percentile(values, q), float(np.percentile(values, q)), rel_tol=1e-12)


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


def test_hand_computed_report(database: Database, seeded: Seeded) -> None:
    x, fb = seeded.x_channel, seeded.fb_channel
    messages = [
        # answered after 10 and 400 minutes; a follow-up answered 5 minutes later (next response)
        _message(x, "a1", "in", 0),
        _message(x, "a2", "out", 10, "a1"),
        _message(x, "a3", "in", 20, "a2"),
        _message(x, "a4", "out", 25, "a3"),
        _message(x, "b1", "in", 60),
        _message(x, "b2", "out", 460, "b1"),
        # an automatic reply does not answer; the human one 30 minutes later does
        _message(fb, "c1", "in", 100),
        _message(fb, "c2", "out", 101, "c1", automatic=True),
        _message(fb, "c3", "out", 130, "c1"),
        # unanswered
        _message(fb, "d1", "in", 200),
        # brand-initiated: not an inquiry
        _message(fb, "e1", "out", 50),
        _message(fb, "e2", "in", 55, "e1"),
        # next day: outside a one-day period
        _message(fb, "f1", "in", 24 * 60 + 1),
    ]
    with database.session() as session:
        do_ingest_messages(session, messages=messages)
    with database.reader() as session:
        report = compute_report(
            session,
            period=Period.from_dates(date(2026, 2, 2), date(2026, 2, 2)),
            brand_ids=[seeded.rail.id],
            now=T0 + timedelta(hours=5),
        ).as_json()
    assert report["inquiries"] == 4
    assert report["answered"] == 3
    assert report["answer_rate"] == 0.75
    assert report["unanswered"] == 1
    frt = report["first_response_minutes"]
    assert frt["median"] == 30.0
    assert frt["mean"] == pytest.approx((10 + 400 + 30) / 3)
    assert frt["p90"] == pytest.approx(float(np.percentile([10, 400, 30], 90)))
    assert frt["within_target"] == pytest.approx(2 / 3)
    assert frt["target"] == 320
    assert report["oldest_unanswered"]["age_minutes"] == pytest.approx(100.0)
    assert report["next_response_minutes"]["median"] == 5.0
    assert {(row["platform"], row["inquiries"], row["answered"]) for row in report["by_channel"]} == {
        ("x", 2, 2),
        ("facebook", 2, 1),
    }
    assert report["csat"]["target"] == 0.4


def test_report_api_respects_brand_access(client: TestClient, seeded: Seeded, ingest: IngestFn) -> None:
    ingest(seeded.fb_channel, "rail", external_id="r1")
    ingest(seeded.market_channel, "market", external_id="m1")
    today = datetime.now(UTC).date().isoformat()
    report = client.get(f"/api/v1/reports/kpis?from={today}&to={today}", headers=auth(seeded.analyst_token))
    assert report.status_code == 200
    assert report.json()["inquiries"] == 2
    only_market = client.get(
        f"/api/v1/reports/kpis?from={today}&to={today}&brand_id={seeded.market.id}",
        headers=auth(seeded.analyst_token),
    )
    assert only_market.json()["inquiries"] == 1
    assert (
        client.get(
            f"/api/v1/reports/kpis?from={today}&to={today}", headers=auth(seeded.agent_token)
        ).status_code
        == 403
    )


def independent_twcs_kpis(path: Any, start: datetime, end: datetime) -> dict[str, Any]:
    """KPIS.md read straight from the CSV: threads are reply chains; an inquiry is a thread whose
    earliest tweet is inbound; FRT runs from it to the earliest outbound tweet at or after it."""
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parent = {}
    for row in rows:
        raw = row["in_response_to_tweet_id"].strip()
        parent[row["tweet_id"]] = str(int(float(raw))) if raw else None

    def root(tweet_id: str) -> str:
        while parent.get(tweet_id):
            tweet_id = parent[tweet_id]  # type: ignore[assignment]
        return tweet_id

    threads: dict[str, list[tuple[datetime, bool, str]]] = defaultdict(list)
    for row in rows:
        created = datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y")
        threads[root(row["tweet_id"])].append((created, row["inbound"] == "True", row["author_id"]))
    frts: list[float] = []
    inquiries = answered = 0
    per_brand: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for tweets in threads.values():
        tweets.sort(key=lambda t: t[0])
        first_time, first_inbound, _ = tweets[0]
        if not first_inbound or not (start <= first_time < end):
            continue
        brand = next(author for _, inbound, author in tweets if not inbound)
        inquiries += 1
        per_brand[brand][0] += 1
        replies = [t for t, inbound, _ in tweets if not inbound and t >= first_time]
        if replies:
            answered += 1
            per_brand[brand][1] += 1
            frts.append((min(replies) - first_time).total_seconds() / 60)
    return {
        "inquiries": inquiries,
        "answered": answered,
        "unanswered": inquiries - answered,
        "answer_rate": answered / inquiries,
        "median": float(np.percentile(frts, 50)),
        "mean": float(np.mean(frts)),
        "p90": float(np.percentile(frts, 90)),
        "within_target": sum(1 for f in frts if f <= 320) / len(frts),
        "per_brand": {brand: tuple(counts) for brand, counts in per_brand.items()},
    }


@pytest.mark.parametrize(
    ("first", "last"), [(date(2000, 1, 1), date(2030, 12, 31)), (date(2017, 10, 30), date(2017, 11, 2))]
)
def test_twcs_report_equals_an_independent_reading_of_kpis_md(
    database: Database, first: date, last: date
) -> None:
    path = shared_path("eval", "support", "twcs", "twcs_threads.csv")
    run_import(database, path, fmt="twcs", analyze=False)
    period = Period.from_dates(first, last)
    expected = independent_twcs_kpis(path, period.start, period.end)
    with database.reader() as session:
        brand_ids = list(session.scalars(select(Brand.id)))
        report = compute_report(session, period=period, brand_ids=brand_ids).as_json()
    assert (report["inquiries"], report["answered"], report["unanswered"]) == (
        expected["inquiries"],
        expected["answered"],
        expected["unanswered"],
    )
    assert report["answer_rate"] == pytest.approx(expected["answer_rate"], abs=1e-12)
    frt = report["first_response_minutes"]
    for key in ("median", "mean", "p90", "within_target"):
        assert frt[key] == pytest.approx(expected[key], rel=1e-9), key
    assert {row["account"]: (row["inquiries"], row["answered"]) for row in report["by_channel"]} == expected[
        "per_brand"
    ]
    json.dumps(report)  # serialisable as is
