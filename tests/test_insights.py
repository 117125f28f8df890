"""Insights for product teams: topics over time by intent or cluster, per channel and sentiment, as
JSON and CSV from the API, and the summary the weekly report includes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tilsvar.db import Database
from tilsvar.models import utcnow
from tilsvar.reports.kpis import Period
from tilsvar.trends.insights import topics_summary

from conftest import Seeded
from helpers import auth


def test_topics_by_channel_and_sentiment_as_json_and_csv(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: Callable[..., int],
    run_jobs: Callable[[], int],
) -> None:
    ingest(seeded.x_channel, "Toget er forsinket igen, det er elendigt", author_id="a1")
    ingest(seeded.fb_channel, "Hvornår går sidste tog til Odense?", author_id="a2")
    ingest(seeded.market_channel, "Where is my parcel?", author_id="a3")
    run_jobs()
    today = date.today().isoformat()
    params = {"from": today, "to": today}
    data = client.get("/api/v1/insights/topics", params=params, headers=auth(seeded.analyst_token)).json()
    rows = data["items"]
    assert sum(row["messages"] for row in rows) == 3
    assert {row["platform"] for row in rows} == {"x", "facebook"}
    assert all(
        set(row) == {"bucket", "topic_kind", "topic", "platform", "sentiment", "messages"} for row in rows
    )
    narrowed = client.get(
        "/api/v1/insights/topics",
        params={**params, "brand_id": seeded.rail.id},
        headers=auth(seeded.analyst_token),
    ).json()["items"]
    assert sum(row["messages"] for row in narrowed) == 2
    csv = client.get(
        "/api/v1/insights/topics", params={**params, "format": "csv"}, headers=auth(seeded.analyst_token)
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "bucket,topic_kind,topic,platform,sentiment,messages"
    # Agents have no report permission.
    assert (
        client.get("/api/v1/insights/topics", params=params, headers=auth(seeded.agent_token)).status_code
        == 403
    )

    now = utcnow()
    with database.reader() as session:
        summary = topics_summary(
            session, Period(start=now - timedelta(days=7), end=now + timedelta(minutes=1)), [seeded.rail.id]
        )
    assert sum(topic["messages"] for topic in summary["by_intent"]) == 2
    assert all(topic["previous"] == 0 for topic in summary["by_intent"])
    assert "by_cluster" in summary
